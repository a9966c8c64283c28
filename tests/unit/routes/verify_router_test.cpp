// routes/verify_router.cpp: POST {auth}/request-verify-token and {auth}/verify,
// every success and documented error with exact bytes, the 422 rule of
// field-by-field bodies, and tokens interchangeable with PyJWT's.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

constexpr const char* kNull = "null";
constexpr const char* kBadToken = R"({"detail":"VERIFY_USER_BAD_TOKEN"})";
constexpr const char* kAlreadyVerified = R"({"detail":"VERIFY_USER_ALREADY_VERIFIED"})";
constexpr long long kFarFuture = 4102444800;  // 2100-01-01

Request request_token(std::string body) {
  return json_request("POST", "/auth/request-verify-token", std::move(body));
}
Request verify(std::string body) { return json_request("POST", "/auth/verify", std::move(body)); }
Request verify_token(const std::string& token) { return verify(R"({"token":")" + token + "\"}"); }

std::string verify_secret(const ApiFixture& f) { return f.config->users.verification_token_secret; }

nlohmann::ordered_json verify_claims(const authcore::User& user) {
  return {{"sub", user.id}, {"email", user.email}, {"aud", "fastapi-users:verify"}, {"exp", kFarFuture}};
}

}  // namespace

TEST_CASE("request-verify-token: an active unverified user gets a token that verifies them") {
  ApiFixture f;
  auto alice = f.add_user("alice@example.com");
  const std::string bearer = f.bearer_for(alice);
  CHECK(f.send(get_request("/users/me", bearer)).status == 200);  // cached

  const auto answer = f.send(request_token(R"({"email":" ALICE@Example.com "})"));
  CHECK(answer.status == 202);
  CHECK(answer.body == kNull);
  CHECK(header(answer, "Content-Type") == "application/json");
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "request_verify");
  CHECK(f.events[0].user.id == alice.id);
  REQUIRE(f.events[0].token);
  const std::string token = *f.events[0].token;
  // Run with -s to see the token; it was checked by hand with PyJWT (report).
  CHECK(token != "");

  const auto verified = f.send(verify_token(token));
  CHECK(verified.status == 200);
  alice.is_verified = true;
  CHECK(verified.body == user_body(alice));
  CHECK(f.stored(alice.id)->is_verified);
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[1].name == "after_verify");
  CHECK(f.events[1].user.is_verified);
  CHECK_FALSE(f.events[1].token);
  CHECK(f.send(get_request("/users/me", bearer)).body == user_body(alice));  // cache invalidated

  // The same token again: the user is verified now.
  const auto again = f.send(verify_token(token));
  CHECK(again.status == 400);
  CHECK(again.body == kAlreadyVerified);
}

TEST_CASE("request-verify-token: unknown, inactive and verified users: 202 null and no token") {
  ApiFixture f;
  f.add_user("off@example.com", "correct horse", /*active=*/false);
  f.add_user("done@example.com", "correct horse", true, /*verified=*/true);
  for (const char* email : {"nobody@example.com", "off@example.com", "done@example.com"}) {
    CAPTURE(email);
    const auto answer = f.send(request_token(std::string(R"({"email":")") + email + "\"}"));
    CHECK(answer.status == 202);
    CHECK(answer.body == kNull);
  }
  CHECK(f.events.empty());
  CHECK(f.store->writes == 0);
}

TEST_CASE("request-verify-token: 422 for field-by-field bodies, 400 for bytes that are not UTF-8") {
  ApiFixture f;
  const char* kMissing =
      R"({"detail":[{"type":"missing","loc":["body","email"],"msg":"Field required","input":null}]})";
  for (const char* body : {"{}", R"({"email":null})", "[]", R"("alice@example.com")", "3", "null"}) {
    CAPTURE(body);
    const auto answer = f.send(request_token(body));
    CHECK(answer.status == 422);
    CHECK(answer.body == kMissing);
  }
  CHECK(f.send(request_token("")).body == kMissing);
  Request not_json = request_token(R"({"email":"alice@example.com"})");
  not_json.content_type = "text/plain";
  CHECK(f.send(not_json).body == kMissing);
  not_json.content_type = "";
  CHECK(f.send(not_json).body == kMissing);

  CHECK(
      f.send(request_token(R"({"email":5})")).body ==
      R"({"detail":[{"type":"string_type","loc":["body","email"],"msg":"Input should be a valid string","input":5}]})");
  CHECK(
      f.send(request_token(R"({"email":"foo"})")).body ==
      R"({"detail":[{"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address: An email address must have an @-sign.","input":"foo","ctx":{"reason":"An email address must have an @-sign."}}]})");
  const auto malformed = f.send(request_token("{oops"));
  CHECK(malformed.status == 422);
  CHECK(malformed.body.starts_with(
      R"({"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{})"));
  const auto bytes = f.send(request_token("{\"email\":\"\xFF\"}"));
  CHECK(bytes.status == 400);
  CHECK(bytes.body == R"({"detail":"There was an error parsing the body"})");
  CHECK(f.events.empty());
}

TEST_CASE("verify: every bad token is VERIFY_USER_BAD_TOKEN and changes nothing") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto bob = f.add_user("bob@example.com");
  const std::string secret = verify_secret(f);
  auto claims = [&](auto edit) {
    auto c = verify_claims(alice);
    edit(c);
    return c;
  };
  using Claims = nlohmann::ordered_json;
  const std::vector<std::string> tokens = {
      "not-a-jwt",
      "a.b.c",
      sign_hs256("another-secret", verify_claims(alice)),
      sign_hs256(f.config->users.reset_password_token_secret, verify_claims(alice)),
      sign_hs256(f.config->secret, verify_claims(alice)),
      sign_hs256(secret, claims([](Claims& c) { c["aud"] = "fastapi-users:reset"; })),
      sign_hs256(secret, claims([](Claims& c) { c["aud"] = "fastapi-users:auth"; })),
      sign_hs256(secret, claims([](Claims& c) { c.erase("aud"); })),
      sign_hs256(secret, claims([](Claims& c) { c["exp"] = 1000000000; })),
      sign_hs256(secret, claims([](Claims& c) { c.erase("sub"); })),
      sign_hs256(secret, claims([](Claims& c) { c.erase("email"); })),
      sign_hs256(secret, claims([](Claims& c) { c["email"] = nullptr; })),
      sign_hs256(secret, claims([](Claims& c) { c["sub"] = 42; })),
      sign_hs256(secret, claims([](Claims& c) { c["email"] = "nobody@example.com"; })),
      sign_hs256(secret, claims([](Claims& c) { c["sub"] = "not-a-uuid"; })),
      sign_hs256(secret, claims([&](Claims& c) { c["sub"] = bob.id; })),  // another user's id
  };
  for (const std::string& token : tokens) {
    CAPTURE(token);
    const auto answer = f.send(verify_token(token));
    CHECK(answer.status == 400);
    CHECK(answer.body == kBadToken);
  }
  CHECK(f.store->writes == 0);
  CHECK(f.events.empty());
}

TEST_CASE("verify: sub in any form uuid.UUID takes; email matched case-insensitively; no exp needed") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  auto claims = verify_claims(alice);
  std::string upper = alice.id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  claims["sub"] = "urn:uuid:" + upper;
  claims["email"] = "Alice@EXAMPLE.com";
  claims.erase("exp");
  CHECK(f.send(verify_token(sign_hs256(verify_secret(f), claims))).status == 200);
}

TEST_CASE("verify: a token dies when the email changes; inactive users can be verified") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const std::string old_token = sign_hs256(verify_secret(f), verify_claims(alice));
  const auto patched = f.send([&] {
    Request r = json_request("PATCH", "/users/me", R"({"email":"alice2@example.com"})");
    r.authorization = f.bearer_for(alice);
    return r;
  }());
  CHECK(patched.status == 200);
  CHECK(f.send(verify_token(old_token)).body == kBadToken);

  auto off = f.add_user("off@example.com", "correct horse", /*active=*/false);
  const auto answer = f.send(verify_token(sign_hs256(verify_secret(f), verify_claims(off))));
  CHECK(answer.status == 200);
  off.is_verified = true;
  CHECK(answer.body == user_body(off));
}

TEST_CASE("verify: 422 missing or non-string token") {
  ApiFixture f;
  const char* kMissing =
      R"({"detail":[{"type":"missing","loc":["body","token"],"msg":"Field required","input":null}]})";
  for (const char* body : {"", "{}", R"({"token":null})", "[1]"}) {
    CAPTURE(body);
    CHECK(f.send(verify(body)).body == kMissing);
  }
  const auto number = f.send(verify(R"({"token":1})"));
  CHECK(number.status == 422);
  CHECK(
      number.body ==
      R"({"detail":[{"type":"string_type","loc":["body","token"],"msg":"Input should be a valid string","input":1}]})");
}

TEST_CASE("verify: a token minted by PyJWT with fastapi-users' claims is accepted") {
  // /usr/bin/python3: jwt.encode({"sub": uid, "email": "interop@example.com",
  //   "aud": "fastapi-users:verify", "exp": 4102444800}, verification_token_secret, algorithm="HS256")
  const char* kPyJwtToken =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxZjBjNmQ0ZS0yYjdhLTRjM2UtOWQ1Zi04YTdiNmM1ZDRlM2YiLCJlbWFpbCI6"
      "ImludGVyb3BAZXhhbXBsZS5jb20iLCJhdWQiOiJmYXN0YXBpLXVzZXJzOnZlcmlmeSIsImV4cCI6NDEwMjQ0NDgwMH0."
      "QUxtuMzq9F-GqqDZb1ViOa"
      "wvDcPch4VmrG9qvQlWX5M";
  ApiFixture f;
  authcore::User user;
  user.id = "1f0c6d4e-2b7a-4c3e-9d5f-8a7b6c5d4e3f";
  user.email = "interop@example.com";
  user.hashed_password = cheap_hasher()->hash("correct horse");
  f.store->users.push_back(user);
  const auto answer = f.send(verify_token(kPyJwtToken));
  CHECK(answer.status == 200);
  user.is_verified = true;
  CHECK(answer.body == user_body(user));
}

TEST_CASE(
    "verify routes: not applied requires_verification; absent when routes.verify is off; store down -> 503") {
  ApiFixture f([](config::Config& c) { c.users.requires_verification = true; });
  const auto alice = f.add_user("alice@example.com");
  CHECK(f.send(request_token(R"({"email":"alice@example.com"})")).status == 202);
  CHECK(f.send(verify_token(sign_hs256(verify_secret(f), verify_claims(alice)))).status == 200);

  f.store->unavailable = true;
  CHECK(f.send(request_token(R"({"email":"alice@example.com"})")).status == 503);
  CHECK(f.send(verify_token(sign_hs256(verify_secret(f), verify_claims(alice)))).body ==
        R"({"detail":"Service Unavailable"})");

  ApiFixture off([](config::Config& c) { c.routes.verify = false; });
  CHECK(off.send(request_token(R"({"email":"alice@example.com"})")).status == 0);
  CHECK(off.send(verify("{}")).status == 0);
}
