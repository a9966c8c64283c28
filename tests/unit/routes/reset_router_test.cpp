// routes/reset_router.cpp: POST {auth}/forgot-password and {auth}/reset-password,
// every success and documented error with exact bytes, the fingerprint that
// makes a token single-use, and tokens interchangeable with fastapi-users'.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

constexpr const char* kBadToken = R"({"detail":"RESET_PASSWORD_BAD_TOKEN"})";
constexpr long long kFarFuture = 4102444800;  // 2100-01-01

Request forgot(std::string body) { return json_request("POST", "/auth/forgot-password", std::move(body)); }
Request reset(std::string body) { return json_request("POST", "/auth/reset-password", std::move(body)); }
Request reset_with(const std::string& token, const std::string& password) {
  return reset(nlohmann::json{{"token", token}, {"password", password}}.dump());
}

Request login(const std::string& email, const std::string& password) {
  return form_request("/auth/jwt/login", "username=" + email + "&password=" + password);
}

// The token forgot-password mails for `email`.
std::string mailed_token(ApiFixture& f, const std::string& email) {
  f.events.clear();
  const auto answer = f.send(forgot(R"({"email":")" + email + "\"}"));
  REQUIRE(answer.status == 202);
  REQUIRE(f.events.size() == 1);
  REQUIRE(f.events[0].token);
  return *f.events[0].token;
}

nlohmann::ordered_json reset_claims(const ApiFixture& f, const authcore::User& user) {
  return {{"sub", user.id},
          {"password_fgpt", f.hasher->hash(user.hashed_password)},
          {"aud", "fastapi-users:reset"},
          {"exp", kFarFuture}};
}

}  // namespace

TEST_CASE("forgot-password: an active user, verified or not, gets a reset token; 202 null") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto answer = f.send(forgot(R"({"email":"Alice@EXAMPLE.com"})"));
  CHECK(answer.status == 202);
  CHECK(answer.body == "null");
  CHECK(header(answer, "Content-Type") == "application/json");
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "forgot_password");
  CHECK(f.events[0].user.id == alice.id);
  REQUIRE(f.events[0].token);
  // Run with -s to see the token; it was checked by hand with PyJWT (report).
  CHECK(*f.events[0].token != "");

  f.add_user("done@example.com", "correct horse", true, /*verified=*/true);
  CHECK(mailed_token(f, "done@example.com") != "");
  CHECK(f.store->writes == 0);
}

TEST_CASE("forgot-password: unknown or inactive -> 202 null, no token") {
  ApiFixture f;
  f.add_user("off@example.com", "correct horse", /*active=*/false);
  for (const char* email : {"nobody@example.com", "off@example.com"}) {
    CAPTURE(email);
    const auto answer = f.send(forgot(std::string(R"({"email":")") + email + "\"}"));
    CHECK(answer.status == 202);
    CHECK(answer.body == "null");
  }
  CHECK(f.events.empty());
}

TEST_CASE("forgot-password: 422 for field-by-field bodies") {
  ApiFixture f;
  const char* kMissing =
      R"({"detail":[{"type":"missing","loc":["body","email"],"msg":"Field required","input":null}]})";
  for (const char* body : {"", "{}", R"({"email":null})", "[]", "\"x\""}) {
    CAPTURE(body);
    const auto answer = f.send(forgot(body));
    CHECK(answer.status == 422);
    CHECK(answer.body == kMissing);
  }
  CHECK(
      f.send(forgot(R"({"email":"a@mail.localhost"})")).body ==
      R"({"detail":[{"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address: The part after the @-sign is a special-use or reserved name that cannot be used with email.","input":"a@mail.localhost","ctx":{"reason":"The part after the @-sign is a special-use or reserved name that cannot be used with email."}}]})");
  CHECK(
      f.send(forgot(R"({"email":true})")).body ==
      R"({"detail":[{"type":"string_type","loc":["body","email"],"msg":"Input should be a valid string","input":true}]})");
}

TEST_CASE("reset-password: the mailed token sets the password once; sessions and is_verified untouched") {
  ApiFixture f;
  auto alice = f.add_user("alice@example.com", "correct horse", true, /*verified=*/true);
  const std::string bearer = f.bearer_for(alice);
  CHECK(f.send(get_request("/users/me", bearer)).status == 200);  // cached
  const std::string token = mailed_token(f, "alice@example.com");
  f.events.clear();

  const auto answer = f.send(reset_with(token, "new battery staple"));
  CHECK(answer.status == 200);
  CHECK(answer.body == "null");
  CHECK(header(answer, "Content-Type") == "application/json");
  const auto stored = f.stored(alice.id);
  CHECK(f.hasher->verify("new battery staple", stored->hashed_password) == authcore::PasswordCheck::ok);
  CHECK(stored->is_verified);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "after_reset_password");
  CHECK(f.events[0].user.id == alice.id);
  CHECK_FALSE(f.events[0].token);
  CHECK(f.send(login("alice@example.com", "new+battery+staple")).status == 200);
  CHECK(f.send(login("alice@example.com", "correct+horse")).status == 400);
  CHECK(f.send(get_request("/users/me", bearer)).status == 200);  // the old session lives on

  // Reused: the new hash no longer matches the token's fingerprint.
  const auto reused = f.send(reset_with(token, "third password!"));
  CHECK(reused.status == 400);
  CHECK(reused.body == kBadToken);
  CHECK(f.hasher->verify("new battery staple", f.stored(alice.id)->hashed_password) ==
        authcore::PasswordCheck::ok);
}

TEST_CASE("reset-password: every failing token step is RESET_PASSWORD_BAD_TOKEN and changes nothing") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto off = f.add_user("off@example.com", "correct horse", /*active=*/false);
  const std::string secret = f.config->users.reset_password_token_secret;
  using Claims = nlohmann::ordered_json;
  auto claims = [&](auto edit) {
    Claims c = reset_claims(f, alice);
    edit(c);
    return c;
  };
  const std::vector<std::string> tokens = {
      "garbage",
      sign_hs256("another-secret", reset_claims(f, alice)),
      sign_hs256(f.config->users.verification_token_secret, reset_claims(f, alice)),
      sign_hs256(secret, claims([](Claims& c) { c["aud"] = "fastapi-users:verify"; })),
      sign_hs256(secret, claims([](Claims& c) { c["aud"] = Claims::array({"other"}); })),
      sign_hs256(secret, claims([](Claims& c) { c["exp"] = 1000000000; })),
      sign_hs256(secret, claims([](Claims& c) { c.erase("sub"); })),
      sign_hs256(secret, claims([](Claims& c) { c.erase("password_fgpt"); })),
      sign_hs256(secret, claims([](Claims& c) { c["sub"] = "42"; })),
      sign_hs256(secret, claims([](Claims& c) { c["sub"] = authcore::new_uuid4(); })),  // no such user
      sign_hs256(secret, claims([&](Claims& c) { c["password_fgpt"] = f.hasher->hash("something else"); })),
      sign_hs256(secret,
                 claims([&](Claims& c) { c["password_fgpt"] = alice.hashed_password; })),  // not a hash of it
      sign_hs256(secret, claims([](Claims& c) {
                   c["password_fgpt"] = "sha256:abc";
                 })),  // unknown format (upstream 500)
      sign_hs256(secret, claims([](Claims& c) { c["password_fgpt"] = 7; })),
      sign_hs256(secret, reset_claims(f, off)),  // inactive, checked after the fingerprint
  };
  for (const std::string& token : tokens) {
    CAPTURE(token);
    const auto answer = f.send(reset_with(token, "new battery staple"));
    CHECK(answer.status == 400);
    CHECK(answer.body == kBadToken);
  }
  CHECK(f.store->writes == 0);
  CHECK(f.events.empty());
}

TEST_CASE("reset-password: token before policy; policy -> RESET_PASSWORD_INVALID_PASSWORD") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  CHECK(f.send(reset_with("garbage", "short")).body == kBadToken);
  const std::string token = sign_hs256(f.config->users.reset_password_token_secret, reset_claims(f, alice));
  const auto shorter = f.send(reset_with(token, "short"));
  CHECK(shorter.status == 400);
  CHECK(
      shorter.body ==
      R"({"detail":{"code":"RESET_PASSWORD_INVALID_PASSWORD","reason":"Password should be at least 8 characters"}})");
  CHECK(
      f.send(reset_with(token, "xx alice@example.com")).body ==
      R"({"detail":{"code":"RESET_PASSWORD_INVALID_PASSWORD","reason":"Password should not contain e-mail"}})");
  CHECK(f.store->writes == 0);
  CHECK(f.send(reset_with(token, "long enough")).status == 200);  // the token was not used up
}

TEST_CASE("reset-password: 422 lists both fields; a deleted user's token is refused") {
  ApiFixture f;
  CHECK(f.send(reset("{}")).body ==
        R"({"detail":[{"type":"missing","loc":["body","token"],"msg":"Field required","input":null},)"
        R"({"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})");
  CHECK(f.send(reset("[]")).status == 422);
  CHECK(
      f.send(reset(R"({"token":null,"password":5})")).body ==
      R"({"detail":[{"type":"missing","loc":["body","token"],"msg":"Field required","input":null},)"
      R"({"type":"string_type","loc":["body","password"],"msg":"Input should be a valid string","input":5}]})");

  const auto alice = f.add_user("alice@example.com");
  const std::string token = mailed_token(f, "alice@example.com");
  f.store->users.clear();
  CHECK(f.send(reset_with(token, "new battery staple")).body == kBadToken);
}

TEST_CASE("reset-password: a token minted by fastapi-users (PyJWT + argon2-cffi) is accepted") {
  // /usr/bin/python3, stored = the hash below:
  //   fgpt = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(stored)
  //   jwt.encode({"sub": uid, "password_fgpt": fgpt, "aud": "fastapi-users:reset", "exp": 4102444800},
  //              reset_password_token_secret, algorithm="HS256")
  // (t=3, m=64 MiB, p=4: pwdlib's Argon2 defaults, spelled out for an older argon2-cffi.)
  const char* kStoredHash = "$argon2id$v=19$m=8192,t=1,p=1$DfaTNn7se7cw3Vtj+Sgc/w$2eDHzBVB+V8Io5eNF4Sc3w";
  const char* kPyJwtToken =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxZjBjNmQ0ZS0yYjdhLTRjM2UtOWQ1Zi04YTdiNmM1ZDRlM2YiLCJwYXNzd29yZF9m"
      "Z3B0IjoiJGFyZ29uMmlkJHY9MTkkbT02NTUzNix0PTMscD00JG9IK0YrRHpmVWdqbUJVQ2IxZTRkQmckNjZXREQ0a2R6d0NFMFlOVE"
      "9TYWcyRHZ2Y1"
      "pXalF2dG1weEkza3RuSWZsSSIsImF1ZCI6ImZhc3RhcGktdXNlcnM6cmVzZXQiLCJleHAiOjQxMDI0NDQ4MDB9."
      "qEbp9odLdKfhWXogarYUGY0MB10K"
      "HtCWbau74jvi9_E";
  ApiFixture f;
  authcore::User user;
  user.id = "1f0c6d4e-2b7a-4c3e-9d5f-8a7b6c5d4e3f";
  user.email = "interop@example.com";
  user.hashed_password = kStoredHash;  // argon2-cffi's hash of "correct horse"
  f.store->users.push_back(user);
  CHECK(f.send(login("interop@example.com", "correct+horse")).status == 200);
  // doorman's token for the same user (run with -s to see it): PyJWT decodes it
  // and argon2-cffi verifies kStoredHash against its fingerprint (report).
  const std::string ours = mailed_token(f, "interop@example.com");
  CHECK(ours != "");

  const auto answer = f.send(reset_with(kPyJwtToken, "new battery staple"));
  CHECK(answer.status == 200);
  CHECK(answer.body == "null");
  CHECK(f.send(login("interop@example.com", "new+battery+staple")).status == 200);
  CHECK(f.send(reset_with(kPyJwtToken, "another password")).body == kBadToken);
}

TEST_CASE("reset routes: absent when routes.reset_password is off; store down -> 503") {
  ApiFixture f;
  f.add_user("alice@example.com");
  f.store->unavailable = true;
  CHECK(f.send(forgot(R"({"email":"alice@example.com"})")).status == 503);
  const std::string token =
      sign_hs256(f.config->users.reset_password_token_secret,
                 {{"sub", authcore::new_uuid4()}, {"password_fgpt", "x"}, {"aud", "fastapi-users:reset"}});
  CHECK(f.send(reset_with(token, "long enough")).status == 503);

  ApiFixture off([](config::Config& c) { c.routes.reset_password = false; });
  CHECK(off.send(forgot("{}")).status == 0);
  CHECK(off.send(reset("{}")).status == 0);
}
