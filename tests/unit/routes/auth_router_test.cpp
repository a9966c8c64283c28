// routes/auth_router.cpp: POST {auth}/{backend}/login and /logout, every
// success and documented error, exact bytes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

constexpr const char* kBothMissing =
    R"({"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required","input":null},)"
    R"({"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})";
constexpr const char* kBadCredentials = R"({"detail":"LOGIN_BAD_CREDENTIALS"})";

Request login(const std::string& backend, const std::string& body) {
  return form_request("/auth/" + backend + "/login", body);
}

Request logout(const std::string& backend, std::string authorization = "", std::string cookie = "") {
  Request r;
  r.method = "POST";
  r.path = "/auth/" + backend + "/logout";
  r.authorization = std::move(authorization);
  r.cookie = std::move(cookie);
  return r;
}

Request me_with(std::string authorization) {
  Request r;
  r.path = "/users/me";
  r.authorization = std::move(authorization);
  return r;
}

}  // namespace

TEST_CASE("login, bearer: 200 with the token, after_login fired") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto answer =
      f.send(login("jwt", "username=alice%40example.com&password=correct+horse&grant_type=password"));
  CHECK(answer.status == 200);
  CHECK(header(answer, "Content-Type") == "application/json");
  const auto body = nlohmann::json::parse(answer.body);
  const std::string token = body.at("access_token");
  CHECK(answer.body == R"({"access_token":")" + token + R"(","token_type":"bearer"})");
  CHECK(f.send(me_with("Bearer " + token)).status == 200);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].name == "after_login");
  CHECK(f.events[0].user.id == alice.id);
  CHECK_FALSE(f.events[0].token);
  CHECK_FALSE(f.events[0].fields);
}

TEST_CASE("login, cookie: 204 with Set-Cookie; database: the token is stored") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const auto cookie = f.send(login("cookie", "username=alice@example.com&password=correct+horse"));
  CHECK(cookie.status == 204);
  CHECK_FALSE(cookie.has_body);
  const auto set_cookie = header(cookie, "Set-Cookie");
  REQUIRE(set_cookie);
  CHECK(set_cookie->starts_with("fastapiusersauth="));
  CHECK(set_cookie->ends_with("; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"));

  const auto db = f.send(login("db", "username=alice@example.com&password=correct+horse"));
  CHECK(db.status == 200);
  const std::string token = nlohmann::json::parse(db.body).at("access_token");
  CHECK(f.store->tokens.at(token) == alice.id);
}

TEST_CASE("login: the email is found case-insensitively but not trimmed") {
  ApiFixture f;
  f.add_user("Alice@example.com");
  CHECK(f.send(login("jwt", "username=ALICE%40EXAMPLE.COM&password=correct+horse")).status == 200);
  const auto spaced = f.send(login("jwt", "username=+alice%40example.com&password=correct+horse"));
  CHECK(spaced.status == 400);
  CHECK(spaced.body == kBadCredentials);
}

TEST_CASE("login: bad credentials (unknown user, wrong password, unknown hash format, inactive)") {
  ApiFixture f;
  f.add_user("alice@example.com");
  f.add_user("bob@example.com", "correct horse", /*active=*/false);
  f.add_user("odd@example.com");
  f.store->users.back().hashed_password = "plaintext-not-a-hash";

  for (const char* body :
       {"username=nobody@example.com&password=correct+horse",
        "username=alice@example.com&password=wrong+horse", "username=odd@example.com&password=correct+horse",
        "username=bob@example.com&password=correct+horse", "username=bob@example.com&password=wrong"}) {
    CAPTURE(body);
    const auto answer = f.send(login("jwt", body));
    CHECK(answer.status == 400);
    CHECK(answer.body == kBadCredentials);
    CHECK(header(answer, "Content-Type") == "application/json");
  }
  CHECK(f.events.empty());
}

TEST_CASE("login: requires_verification refuses an unverified user with its own code") {
  ApiFixture strict([](config::Config& c) { c.users.requires_verification = true; });
  strict.add_user("new@example.com");
  strict.add_user("ok@example.com", "correct horse", true, /*verified=*/true);
  const auto refused = strict.send(login("jwt", "username=new@example.com&password=correct+horse"));
  CHECK(refused.status == 400);
  CHECK(refused.body == R"({"detail":"LOGIN_USER_NOT_VERIFIED"})");
  // Wrong password wins over "not verified".
  CHECK(strict.send(login("jwt", "username=new@example.com&password=nope")).body == kBadCredentials);
  CHECK(strict.send(login("jwt", "username=ok@example.com&password=correct+horse")).status == 200);

  ApiFixture relaxed;
  relaxed.add_user("new@example.com");
  CHECK(relaxed.send(login("jwt", "username=new@example.com&password=correct+horse")).status == 200);
}

TEST_CASE("login: a weaker hash is replaced on success, even for an inactive user") {
  const auto stronger =
      std::make_shared<const authcore::PasswordHasher>(authcore::PasswordHasherParams{2, 8u << 20});
  ApiFixture f(nullptr, stronger);
  const auto alice = f.add_user("alice@example.com");
  const auto bob = f.add_user("bob@example.com", "correct horse", /*active=*/false);
  CHECK(f.send(login("jwt", "username=alice@example.com&password=correct+horse")).status == 200);
  CHECK(f.stored(alice.id)->hashed_password != alice.hashed_password);
  CHECK(stronger->verify("correct horse", f.stored(alice.id)->hashed_password) ==
        authcore::PasswordCheck::ok);
  CHECK(f.send(login("jwt", "username=bob@example.com&password=correct+horse")).body == kBadCredentials);
  CHECK(f.stored(bob.id)->hashed_password != bob.hashed_password);
  // A wrong password changes nothing.
  const int writes = f.store->writes;
  CHECK(f.send(login("jwt", "username=alice@example.com&password=nope")).status == 400);
  CHECK(f.store->writes == writes);
}

TEST_CASE("login: 422 for missing or empty fields, a JSON body, a bad grant_type") {
  ApiFixture f;
  f.add_user("alice@example.com");
  CHECK(f.send(login("jwt", "")).body == kBothMissing);
  CHECK(f.send(login("jwt", "username=&password=")).body == kBothMissing);
  Request json = json_request("POST", "/auth/jwt/login",
                              R"({"username":"alice@example.com","password":"correct horse"})");
  const auto json_answer = f.send(json);
  CHECK(json_answer.status == 422);
  CHECK(json_answer.body == kBothMissing);

  const auto only_password = f.send(login("jwt", "username=alice@example.com"));
  CHECK(only_password.status == 422);
  CHECK(only_password.body ==
        R"({"detail":[{"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})");

  const auto grant = f.send(login("jwt", "grant_type=client_credentials&password=x"));
  CHECK(grant.status == 422);
  CHECK(
      grant.body ==
      R"({"detail":[{"type":"string_pattern_mismatch","loc":["body","grant_type"],"msg":"String should match pattern '^password$'","input":"client_credentials","ctx":{"pattern":"^password$"}},)"
      R"({"type":"missing","loc":["body","username"],"msg":"Field required","input":null}]})");
  // Empty grant_type counts as absent; scope and client fields are accepted and unused.
  CHECK(f.send(login("jwt",
                     "grant_type=&username=alice@example.com&password=correct+horse&scope=a+b&client_id=c&"
                     "client_secret=d"))
            .status == 200);
  CHECK(f.events.size() == 1);
}

TEST_CASE("login: multipart/form-data is accepted; a multipart body without boundary is a 400") {
  ApiFixture f;
  f.add_user("alice@example.com");
  Request r =
      login("jwt",
            "--b0\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice@example.com\r\n"
            "--b0\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ncorrect horse\r\n--b0--\r\n");
  r.content_type = "multipart/form-data; boundary=b0";
  CHECK(f.send(r).status == 200);
  r.content_type = "multipart/form-data";
  const auto answer = f.send(r);
  CHECK(answer.status == 400);
  CHECK(answer.body == R"({"detail":"Missing boundary in multipart."})");
}

TEST_CASE("login: the store down -> 503") {
  ApiFixture f;
  f.add_user("alice@example.com");
  f.store->unavailable = true;
  const auto answer = f.send(login("jwt", "username=alice@example.com&password=correct+horse"));
  CHECK(answer.status == 503);
  CHECK(answer.body == R"({"detail":"Service Unavailable"})");
}

TEST_CASE("logout: bearer 204 without cookie; cookie 204 clearing it; database deletes the row") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");

  const auto bearer = f.send(logout("jwt", f.bearer_for(alice)));
  CHECK(bearer.status == 204);
  CHECK_FALSE(bearer.has_body);
  CHECK(bearer.body.empty());
  CHECK_FALSE(header(bearer, "Set-Cookie"));

  const auto cookie = f.send(logout("cookie", "", "fastapiusersauth=" + f.token_for(alice, kCookieBackend)));
  CHECK(cookie.status == 204);
  CHECK_FALSE(cookie.has_body);
  CHECK(header(cookie, "Set-Cookie") ==
        R"(fastapiusersauth=""; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure)");

  const std::string db_token = f.token_for(alice, kDbBackend);
  CHECK(f.store->tokens.count(db_token) == 1);
  CHECK(f.send(logout("db", "Bearer " + db_token)).status == 204);
  CHECK(f.store->tokens.count(db_token) == 0);
  CHECK(f.events.empty());
}

TEST_CASE("logout: the route's own strategy destroys the token that authenticated (upstream quirk)") {
  ApiFixture f;
  const auto alice = f.add_user("alice@example.com");
  const std::string db_token = f.token_for(alice, kDbBackend);
  // Found by the db backend, destroyed by the JWT strategy: nothing happens, 204 all the same.
  CHECK(f.send(logout("jwt", "Bearer " + db_token)).status == 204);
  CHECK(f.store->tokens.count(db_token) == 1);
  // Logging out at the cookie route with a bearer token still answers the cookie transport's way.
  const auto cleared = f.send(logout("cookie", "Bearer " + db_token));
  CHECK(cleared.status == 204);
  CHECK(header(cleared, "Set-Cookie"));
}

TEST_CASE("logout: 401 without a valid token or for an inactive user, 403 when unverified, 503 store down") {
  ApiFixture f([](config::Config& c) { c.users.requires_verification = true; });
  const auto inactive = f.add_user("off@example.com", "correct horse", /*active=*/false, /*verified=*/true);
  const auto unverified = f.add_user("new@example.com");
  for (const std::string& authorization :
       {std::string(), std::string("Bearer nope"), std::string("Basic abc"), f.bearer_for(inactive)}) {
    CAPTURE(authorization);
    const auto answer = f.send(logout("jwt", authorization));
    CHECK(answer.status == 401);
    CHECK(answer.body == R"({"detail":"Unauthorized"})");
    CHECK_FALSE(header(answer, "WWW-Authenticate"));
  }
  const auto forbidden = f.send(logout("jwt", f.bearer_for(unverified)));
  CHECK(forbidden.status == 403);
  CHECK(forbidden.body == R"({"detail":"Forbidden"})");

  const std::string db_token = f.token_for(inactive, kDbBackend);
  f.store->unavailable = true;
  CHECK(f.send(logout("db", "Bearer " + db_token)).status == 503);
}
