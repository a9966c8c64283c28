// routes/users_router.cpp: GET and PATCH {users}/me, the §1 order of checks,
// the §7 field rules, cache invalidation, after_update fields.
#include <doctest/doctest.h>

#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

Request get_me(std::string authorization) {
  Request r;
  r.path = "/users/me";
  r.authorization = std::move(authorization);
  return r;
}

Request patch_me(std::string authorization, std::string body) {
  Request r = json_request("PATCH", "/users/me", std::move(body));
  r.authorization = std::move(authorization);
  return r;
}

std::string user_body(const authcore::User& u) {
  const auto flag = [](bool b) { return b ? "true" : "false"; };
  return std::string(R"({"id":")") + u.id + R"(","email":")" + u.email + R"(","is_active":)" + flag(u.is_active) +
         R"(,"is_superuser":)" + flag(u.is_superuser) + R"(,"is_verified":)" + flag(u.is_verified) + "}";
}

}  // namespace

TEST_CASE("GET users/me: 200 user through any backend") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com", "correct horse", true, true, true);
  const auto answer = f.send(get_me(f.bearer_for(alice)));
  CHECK(answer.status == 200);
  CHECK(answer.body == user_body(alice));
  CHECK(answer.body.find("hashed_password") == std::string::npos);
  Request by_cookie = get_me("");
  by_cookie.cookie = "other=1; fastapiusersauth=" + f.token_for(alice, kCookieBackend);
  CHECK(f.send(by_cookie).status == 200);
  CHECK(f.send(get_me("bearer " + f.token_for(alice, kDbBackend))).status == 200);
}

TEST_CASE("GET users/me: 401 no user or inactive, 403 unverified when required") {
  ApiFixture f([](config::Config& c) { c.users.requires_verification = true; });
  const auto inactive = f.add_user("off@example.com", "correct horse", false, true);
  const auto unverified = f.add_user("new@example.com");
  for (const std::string& authorization : {std::string(), std::string("Bearer x.y.z"), f.bearer_for(inactive)}) {
    const auto answer = f.send(get_me(authorization));
    CHECK(answer.status == 401);
    CHECK(answer.body == R"({"detail":"Unauthorized"})");
    CHECK_FALSE(header(answer, "WWW-Authenticate"));
  }
  const auto forbidden = f.send(get_me(f.bearer_for(unverified)));
  CHECK(forbidden.status == 403);
  CHECK(forbidden.body == R"({"detail":"Forbidden"})");
}

TEST_CASE("PATCH users/me: body parsing errors come before authentication, field errors after it") {
  ApiFixture f([](config::Config& c) { c.users.requires_verification = true; });
  const auto unverified = f.add_user("new@example.com");
  CHECK(f.send(patch_me("", "{oops")).status == 422);
  CHECK(f.send(patch_me("", "{\"email\":\"\xFF\"}")).status == 400);
  CHECK(f.send(patch_me("", R"({"password":123})")).status == 401);
  CHECK(f.send(patch_me("", "")).status == 401);
  CHECK(f.send(patch_me(f.bearer_for(unverified), R"({"password":123})")).status == 403);

  ApiFixture g;
  const auto alice = g.add_user("alice@example.com");
  const auto invalid = g.send(patch_me(g.bearer_for(alice), R"({"password":123,"email":"x@","is_verified":"2"})"));
  CHECK(invalid.status == 422);
  CHECK(invalid.body.starts_with(
      R"({"detail":[{"type":"string_type","loc":["body","password"],"msg":"Input should be a valid string","input":123},)"
      R"({"type":"value_error","loc":["body","email"],)"));
  CHECK(invalid.body.ends_with(
      R"({"type":"bool_parsing","loc":["body","is_verified"],"msg":"Input should be a valid boolean, unable to interpret input","input":"2"}]})"));
  CHECK(g.send(patch_me(g.bearer_for(alice), "")).body ==
        R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})");
  CHECK(g.store->writes == 0);
  CHECK(g.stored(alice.id)->email == "alice@example.com");
  CHECK(g.events.empty());
}

TEST_CASE("PATCH users/me: {} and nulls are a no-op; the flags are ignored") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com", "correct horse", true, true);
  for (const char* body : {"{}", R"({"email":null,"password":null,"is_active":null,"is_superuser":null,"is_verified":null})",
                           R"({"is_active":false,"is_superuser":true,"is_verified":"no","id":"x"})"}) {
    CAPTURE(body);
    const auto answer = f.send(patch_me(f.bearer_for(alice), body));
    CHECK(answer.status == 200);
    CHECK(answer.body == user_body(alice));
  }
  CHECK(f.store->writes == 0);
  REQUIRE(f.events.size() == 3);
  CHECK(f.events[0].name == "after_update");
  CHECK(f.events[0].fields == std::vector<std::string>{});
}

TEST_CASE("PATCH users/me: a new password is hashed, stored and usable") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto answer = f.send(patch_me(f.bearer_for(alice), R"({"password":"new horse battery"})"));
  CHECK(answer.status == 200);
  CHECK(answer.body == user_body(alice));
  CHECK(f.hasher->verify("new horse battery", f.stored(alice.id)->hashed_password) == authcore::PasswordCheck::ok);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].fields == std::vector<std::string>{"password"});
  CHECK(f.send(form_request("/auth/jwt/login", "username=alice@example.com&password=new+horse+battery")).status == 200);
}

TEST_CASE("PATCH users/me: password policy, checked against the stored email, wins over a taken email") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  f.add_user("bob@example.com");
  const auto shorter = f.send(patch_me(f.bearer_for(alice), R"({"password":"short","email":"bob@example.com"})"));
  CHECK(shorter.status == 400);
  CHECK(shorter.body ==
        R"({"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Password should be at least 8 characters"}})");
  const auto contains = f.send(patch_me(f.bearer_for(alice), R"({"password":"my alice@example.com","email":"c@example.com"})"));
  CHECK(contains.body ==
        R"({"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Password should not contain e-mail"}})");
  CHECK(f.store->writes == 0);
  CHECK(f.stored(alice.id)->hashed_password == alice.hashed_password);
}

TEST_CASE("PATCH users/me: a new email is normalised, stored, resets is_verified, and is seen at once") {
  ApiFixture f;
  auto alice = f.add_user("alice@example.com", "correct horse", true, /*verified=*/true);
  const std::string bearer = f.bearer_for(alice);
  CHECK(f.send(get_me(bearer)).status == 200);  // now cached
  const auto answer = f.send(patch_me(bearer, R"({"email":" Alice.New@EXAMPLE.org "})"));
  CHECK(answer.status == 200);
  alice.email = "Alice.New@example.org";
  alice.is_verified = false;
  CHECK(answer.body == user_body(alice));
  CHECK(f.stored(alice.id)->email == "Alice.New@example.org");
  CHECK_FALSE(f.stored(alice.id)->is_verified);
  CHECK(f.send(get_me(bearer)).body == user_body(alice));  // the cache was invalidated
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].fields == std::vector<std::string>{"email", "is_verified"});
  CHECK(f.events[0].user.email == "Alice.New@example.org");

  // The same email again: no change, no write.
  const int writes = f.store->writes;
  CHECK(f.send(patch_me(bearer, R"({"email":"Alice.New@example.org"})")).status == 200);
  CHECK(f.store->writes == writes);
  CHECK(f.events.back().fields == std::vector<std::string>{});
}

TEST_CASE("PATCH users/me: an email taken in any case, own email in another case, a lost race") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com", "correct horse", true, true);
  f.add_user("Bob@Example.com");
  const char* kExists = R"({"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"})";
  const auto taken = f.send(patch_me(f.bearer_for(alice), R"({"email":"bob@example.com"})"));
  CHECK(taken.status == 400);
  CHECK(taken.body == kExists);
  CHECK(f.send(patch_me(f.bearer_for(alice), R"({"email":"ALICE@example.com"})")).body == kExists);
  f.store->duplicate_on_write = true;
  CHECK(f.send(patch_me(f.bearer_for(alice), R"({"email":"carol@example.com"})")).body == kExists);
  CHECK(f.stored(alice.id)->email == "alice@example.com");
  CHECK(f.stored(alice.id)->is_verified);
  CHECK(f.events.empty());
}

TEST_CASE("PATCH users/me: the store down -> 503") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const std::string bearer = f.bearer_for(alice);
  CHECK(f.send(get_me(bearer)).status == 200);  // cached: authentication still works
  f.store->unavailable = true;
  const auto answer = f.send(patch_me(bearer, R"({"email":"new@example.com"})"));
  CHECK(answer.status == 503);
  CHECK(answer.body == R"({"detail":"Service Unavailable"})");
}
