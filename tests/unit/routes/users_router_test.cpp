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
  for (const std::string& authorization :
       {std::string(), std::string("Bearer x.y.z"), f.bearer_for(inactive)}) {
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
  const auto invalid =
      g.send(patch_me(g.bearer_for(alice), R"({"password":123,"email":"x@","is_verified":"2"})"));
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
  for (const char* body :
       {"{}", R"({"email":null,"password":null,"is_active":null,"is_superuser":null,"is_verified":null})",
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
  CHECK(f.hasher->verify("new horse battery", f.stored(alice.id)->hashed_password) ==
        authcore::PasswordCheck::ok);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].fields == std::vector<std::string>{"password"});
  CHECK(f.send(form_request("/auth/jwt/login", "username=alice@example.com&password=new+horse+battery"))
            .status == 200);
}

TEST_CASE("PATCH users/me: password policy, checked against the stored email, wins over a taken email") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  f.add_user("bob@example.com");
  const auto shorter =
      f.send(patch_me(f.bearer_for(alice), R"({"password":"short","email":"bob@example.com"})"));
  CHECK(shorter.status == 400);
  CHECK(
      shorter.body ==
      R"({"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Password should be at least 8 characters"}})");
  const auto contains =
      f.send(patch_me(f.bearer_for(alice), R"({"password":"my alice@example.com","email":"c@example.com"})"));
  CHECK(
      contains.body ==
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

// ---- {users}/{id}: superusers only (api-contract.md §7) ----

namespace {

Request by_id(std::string method, const std::string& id, std::string authorization, std::string body = {}) {
  Request r = json_request(std::move(method), "/users/" + id, std::move(body));
  if (r.method != "PATCH") r.content_type.clear();
  r.authorization = std::move(authorization);
  return r;
}

}  // namespace

TEST_CASE("GET users/{id}: 200 for a superuser, the id in any form uuid.UUID takes") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto bob = f.add_user("bob@example.com");
  std::string upper = bob.id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string bare = bob.id;
  std::erase(bare, '-');
  for (const std::string& id : {bob.id, upper, bare, "{" + bob.id + "}", "urn:uuid:" + bob.id}) {
    CAPTURE(id);
    const auto answer = f.send(by_id("GET", id, f.bearer_for(root)));
    CHECK(answer.status == 200);
    CHECK(answer.body == user_body(bob));
  }
}

TEST_CASE("users/{id}: 401, then 403 for a non-superuser, then 404 for a bad or unknown id") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto off_root = f.add_user("offroot@example.com", "correct horse", false, true, true);
  const auto bob = f.add_user("bob@example.com");
  for (const char* method : {"GET", "PATCH", "DELETE"}) {
    CAPTURE(method);
    for (const std::string& authorization :
         {std::string(), std::string("Bearer nope"), f.bearer_for(off_root)}) {
      const auto answer = f.send(by_id(method, "not-a-uuid", authorization, "{}"));
      CHECK(answer.status == 401);
      CHECK(answer.body == R"({"detail":"Unauthorized"})");
    }
    const auto forbidden = f.send(by_id(method, root.id, f.bearer_for(bob), "{}"));
    CHECK(forbidden.status == 403);
    CHECK(forbidden.body == R"({"detail":"Forbidden"})");
    // "me" only reaches the {id} route with DELETE (GET/PATCH /me come first).
    for (const std::string& id : {std::string("not-a-uuid"), std::string("123"), std::string("ME"),
                                  bob.id + "0", authcore::new_uuid4(), std::string("%7B") + bob.id}) {
      CAPTURE(id);
      const auto missing = f.send(by_id(method, id, f.bearer_for(root), "{}"));
      CHECK(missing.status == 404);
      CHECK(missing.body == R"({"detail":"Not Found"})");
    }
  }
  CHECK(f.store->writes == 0);
  CHECK(f.events.empty());
}

TEST_CASE("DELETE users/me is the {id} route with id me: 403 for a user, 404 for a superuser") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto bob = f.add_user("bob@example.com");
  CHECK(f.send(by_id("DELETE", "me", f.bearer_for(bob))).status == 403);
  CHECK(f.send(by_id("DELETE", "me", f.bearer_for(root))).body == R"({"detail":"Not Found"})");
  CHECK(f.send(by_id("DELETE", "me", "")).status == 401);
}

TEST_CASE("users/{id}: an unverified superuser is refused when verification is required") {
  ApiFixture f([](config::Config& c) { c.users.requires_verification = true; });
  const auto root = f.add_user("root@example.com", "correct horse", true, /*verified=*/false, true);
  const auto bob = f.add_user("bob@example.com");
  CHECK(f.send(by_id("GET", bob.id, f.bearer_for(root))).status == 403);
}

TEST_CASE("PATCH users/{id}: the §1 order: parse, superuser, id, fields, logic") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto bob = f.add_user("bob@example.com");
  CHECK(f.send(by_id("PATCH", bob.id, "", "{oops")).status == 422);
  CHECK(f.send(by_id("PATCH", bob.id, "", "{\"email\":\"\xFF\"}")).status == 400);
  CHECK(f.send(by_id("PATCH", bob.id, "", R"({"is_active":"maybe"})")).status == 401);
  CHECK(f.send(by_id("PATCH", bob.id, f.bearer_for(bob), R"({"is_active":"maybe"})")).status == 403);
  CHECK(f.send(by_id("PATCH", "nope", f.bearer_for(root), R"({"is_active":"maybe"})")).status == 404);
  CHECK(f.send(by_id("PATCH", "nope", f.bearer_for(root), "")).status == 404);
  const auto fields =
      f.send(by_id("PATCH", bob.id, f.bearer_for(root), R"({"is_active":"maybe","password":"x"})"));
  CHECK(fields.status == 422);
  CHECK(
      fields.body ==
      R"({"detail":[{"type":"bool_parsing","loc":["body","is_active"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]})");
  CHECK(f.send(by_id("PATCH", bob.id, f.bearer_for(root), "")).body ==
        R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})");
  CHECK(
      f.send(by_id("PATCH", bob.id, f.bearer_for(root), "[]")).body ==
      R"({"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]})");
  CHECK(f.store->writes == 0);
  CHECK(f.events.empty());
}

TEST_CASE("PATCH users/{id}: unsafe: all five keys applied; the target's cached session sees it") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  auto bob = f.add_user("bob@example.com");
  const std::string bob_bearer = f.bearer_for(bob);
  CHECK(f.send(get_me(bob_bearer)).status == 200);  // cached

  const auto answer = f.send(by_id(
      "PATCH", bob.id, f.bearer_for(root),
      R"({"password":"brand new pass","email":"Bobby@Example.COM","is_superuser":"yes","is_verified":true,"id":"x"})"));
  CHECK(answer.status == 200);
  bob.email = "Bobby@example.com";
  bob.is_superuser = true;
  bob.is_verified = true;  // applied after email, so it wins over the reset
  CHECK(answer.body == user_body(bob));
  CHECK(f.hasher->verify("brand new pass", f.stored(bob.id)->hashed_password) == authcore::PasswordCheck::ok);
  CHECK(f.stored(bob.id)->is_verified);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "after_update");
  CHECK(f.events[0].user.id == bob.id);
  CHECK(f.events[0].fields == std::vector<std::string>{"password", "email", "is_superuser", "is_verified"});
  CHECK(f.send(get_me(bob_bearer)).body == user_body(bob));

  // An email change alone resets is_verified; deactivating ends the target's sessions at once.
  const auto moved =
      f.send(by_id("PATCH", bob.id, f.bearer_for(root), R"({"email":"bob2@example.com","is_active":false})"));
  CHECK(moved.status == 200);
  bob.email = "bob2@example.com";
  bob.is_verified = false;
  bob.is_active = false;
  CHECK(moved.body == user_body(bob));
  CHECK(f.events.back().fields == std::vector<std::string>{"email", "is_active", "is_verified"});
  CHECK(f.send(get_me(bob_bearer)).status == 401);
}

TEST_CASE("PATCH users/{id}: password policy against the target's email, then taken email") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto bob = f.add_user("bob@example.com");
  CHECK(
      f.send(by_id("PATCH", bob.id, f.bearer_for(root),
                   R"({"password":"my bob@example.com","email":"root@example.com"})"))
          .body ==
      R"({"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Password should not contain e-mail"}})");
  CHECK(f.send(by_id("PATCH", bob.id, f.bearer_for(root), R"({"password":"my root@example.com"})")).status ==
        200);
  const auto taken =
      f.send(by_id("PATCH", bob.id, f.bearer_for(root), R"({"email":"ROOT@example.com","is_active":false})"));
  CHECK(taken.status == 400);
  CHECK(taken.body == R"({"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"})");
  CHECK(f.stored(bob.id)->is_active);
  // Nulls are absent; {} is a no-op that still fires after_update.
  const auto same = f.send(
      by_id("PATCH", bob.id, f.bearer_for(root), R"({"email":null,"is_active":null,"is_superuser":null})"));
  CHECK(same.status == 200);
  CHECK(f.events.back().fields == std::vector<std::string>{});
}

TEST_CASE("DELETE users/{id}: before_delete, removal, after_delete, 204 empty; the user's tokens die") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const auto bob = f.add_user("bob@example.com");
  const std::string bob_bearer = f.bearer_for(bob);
  const std::string bob_db = "Bearer " + f.token_for(bob, kDbBackend);
  CHECK(f.send(get_me(bob_bearer)).status == 200);  // cached
  const auto answer = f.send(by_id("DELETE", bob.id, f.bearer_for(root)));
  CHECK(answer.status == 204);
  CHECK_FALSE(answer.has_body);
  CHECK(answer.body.empty());
  CHECK(answer.headers.empty());
  CHECK_FALSE(f.stored(bob.id));
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0].name == "before_delete");
  CHECK(f.events[1].name == "after_delete");
  CHECK(f.events[1].user.id == bob.id);
  CHECK(f.send(get_me(bob_bearer)).status == 401);
  CHECK(f.send(get_me(bob_db)).status == 401);
  CHECK(f.send(by_id("DELETE", bob.id, f.bearer_for(root))).status == 404);
  CHECK(f.send(by_id("GET", bob.id, f.bearer_for(root))).status == 404);
}

TEST_CASE("users/{id}: the store down -> 503; routes.users off -> not matched") {
  ApiFixture f;
  const auto root = f.add_user("root@example.com", "correct horse", true, true, true);
  const std::string bearer = f.bearer_for(root);
  CHECK(f.send(get_me(bearer)).status == 200);  // cached: authentication still works
  f.store->unavailable = true;
  CHECK(f.send(by_id("GET", root.id, bearer)).body == R"({"detail":"Service Unavailable"})");

  ApiFixture off([](config::Config& c) { c.routes.users = false; });
  for (const char* method : {"GET", "PATCH", "DELETE"})
    CHECK(off.send(by_id(method, root.id, "")).status == 0);
}
