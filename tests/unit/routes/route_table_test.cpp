// routes/route_table.cpp: what is an auth route, 405 with Allow, 307 for one
// trailing slash, and everything else forwarded (Kind::none).
#include <doctest/doctest.h>

#include "routes/api_fixture.hpp"
#include "routes/route_table.hpp"

using namespace doorman;
using namespace doorman::routes;
using Kind = RouteMatch::Kind;

TEST_CASE("route table: login and logout exist once per backend under the auth prefix") {
  const RouteTable table(testing::test_config());
  const auto login = table.match("POST", "/auth/cookie/login");
  CHECK(login.kind == Kind::route);
  CHECK(login.route == RouteId::login);
  CHECK(login.backend_index == testing::kCookieBackend);
  const auto logout = table.match("POST", "/auth/db/logout");
  CHECK(logout.kind == Kind::route);
  CHECK(logout.route == RouteId::logout);
  CHECK(logout.backend_index == testing::kDbBackend);
  CHECK(table.match("POST", "/auth/unknown/login").kind == Kind::none);
}

TEST_CASE("route table: register, users/me") {
  const RouteTable table(testing::test_config());
  CHECK(table.match("POST", "/auth/register").route == RouteId::register_);
  CHECK(table.match("POST", "/auth/register").kind == Kind::route);
  CHECK(table.match("GET", "/users/me").kind == Kind::route);
  CHECK(table.match("GET", "/users/me").route == RouteId::users_me);
  CHECK(table.match("PATCH", "/users/me").kind == Kind::route);
}

TEST_CASE("route table: reset, verify, users/{id} and openapi.json") {
  const RouteTable table(testing::test_config());
  CHECK(table.match("POST", "/auth/forgot-password").route == RouteId::forgot_password);
  CHECK(table.match("POST", "/auth/reset-password").route == RouteId::reset_password);
  CHECK(table.match("POST", "/auth/request-verify-token").route == RouteId::request_verify_token);
  CHECK(table.match("POST", "/auth/verify").route == RouteId::verify);
  CHECK(table.match("GET", "/auth/openapi.json").route == RouteId::openapi);
  for (const char* method : {"GET", "PATCH", "DELETE"}) {
    const auto id = table.match(method, "/users/42");
    CHECK(id.kind == Kind::route);
    CHECK(id.route == RouteId::users_id);
    CHECK(id.path_param == "42");
  }
  // /me wins for its own methods; DELETE /me falls through to {id} with "me", as upstream.
  CHECK(table.match("PATCH", "/users/me").route == RouteId::users_me);
  const auto delete_me = table.match("DELETE", "/users/me");
  CHECK(delete_me.route == RouteId::users_id);
  CHECK(delete_me.path_param == "me");
  CHECK(table.match("GET", "/users/ME").route == RouteId::users_id);  // case-sensitive: an id
  CHECK(table.match("PUT", "/users/42").allow == "GET");
  CHECK(table.match("GET", "/auth/verify").allow == "POST");
  CHECK(table.match("POST", "/auth/openapi.json").allow == "GET");
  CHECK(table.match("DELETE", "/users/42/").location == "/users/42");
}

TEST_CASE("route table: known path, other method -> 405 with the first matching route's methods") {
  const RouteTable table(testing::test_config());
  const auto get_login = table.match("GET", "/auth/jwt/login");
  CHECK(get_login.kind == Kind::method_not_allowed);
  CHECK(get_login.allow == "POST");
  CHECK(table.match("DELETE", "/auth/register").allow == "POST");
  // Starlette hands a wrong method to the first route whose path matches:
  // GET /me comes before PATCH /me, so Allow names only GET, as upstream.
  const auto put_me = table.match("PUT", "/users/me");
  CHECK(put_me.kind == Kind::method_not_allowed);
  CHECK(put_me.allow == "GET");
  // FastAPI routes do not add HEAD to GET.
  CHECK(table.match("HEAD", "/users/me").kind == Kind::method_not_allowed);
  CHECK(table.match("post", "/auth/register").kind == Kind::method_not_allowed);
}

TEST_CASE("route table: one trailing slash -> 307 to the route, for any method") {
  const RouteTable table(testing::test_config());
  const auto me = table.match("GET", "/users/me/");
  CHECK(me.kind == Kind::trailing_slash_redirect);
  CHECK(me.location == "/users/me");
  const auto login = table.match("POST", "/auth/jwt/login/");
  CHECK(login.kind == Kind::trailing_slash_redirect);
  CHECK(login.location == "/auth/jwt/login");
  CHECK(table.match("DELETE", "/auth/register/").kind == Kind::trailing_slash_redirect);
  CHECK(table.match("GET", "/users/me//").kind == Kind::none);
}

TEST_CASE("route table: everything else is forwarded") {
  const RouteTable table(testing::test_config());
  for (const char* path :
       {"/users/42/posts", "/users/me/x", "/users", "/users/", "/auth", "/auth/", "/auth/verify/x",
        "/auth/forgot-password/x", "/auth/openapi", "/auth/jwt", "/auth/jwt/login/x", "/USERS/me",
        "/api/users/me", "/usersx/me", "/authx/register", "/auth/register/x", "/users//", "/", ""}) {
    CAPTURE(path);
    CHECK(table.match("GET", path).kind == Kind::none);
    CHECK(table.match("POST", path).kind == Kind::none);
  }
}

TEST_CASE("route table: prefixes and switches come from config") {
  auto config = testing::test_config();
  config.routes.auth_prefix = "/api/auth";
  config.routes.users_prefix = "/api/accounts";
  config.routes.register_ = false;
  const RouteTable custom(config);
  CHECK(custom.match("POST", "/api/auth/jwt/login").kind == Kind::route);
  CHECK(custom.match("GET", "/api/accounts/me").kind == Kind::route);
  CHECK(custom.match("POST", "/api/auth/register").kind == Kind::none);
  CHECK(custom.match("POST", "/auth/jwt/login").kind == Kind::none);
  CHECK(custom.match("GET", "/users/me").kind == Kind::none);

  config.routes.users = false;
  const RouteTable no_users(config);
  CHECK(no_users.match("GET", "/api/accounts/me").kind == Kind::none);
  CHECK(no_users.match("GET", "/api/accounts/me/").kind == Kind::none);
  CHECK(no_users.match("DELETE", "/api/accounts/42").kind == Kind::none);

  config.routes.verify = false;
  config.routes.reset_password = false;
  const RouteTable bare(config);
  for (const char* path : {"/api/auth/verify", "/api/auth/request-verify-token", "/api/auth/forgot-password",
                           "/api/auth/reset-password"})
    CHECK(bare.match("POST", path).kind == Kind::none);
  CHECK(bare.match("GET", "/api/auth/openapi.json").kind == Kind::route);  // doorman's own, always
  CHECK(bare.match("POST", "/api/auth/jwt/login").kind == Kind::route);
}

TEST_CASE("route table: a users prefix equal to the auth prefix keeps openapi.json and the auth routes") {
  auto config = testing::test_config();
  config.routes.users_prefix = "/auth";
  const RouteTable table(config);
  CHECK(table.match("GET", "/auth/openapi.json").route == RouteId::openapi);
  CHECK(table.match("POST", "/auth/register").route == RouteId::register_);
  CHECK(table.match("GET", "/auth/me").route == RouteId::users_me);
}

TEST_CASE("path_matches: literal paths and one-segment parameters") {
  std::string_view param;
  CHECK(path_matches("/users/me", "/users/me"));
  CHECK_FALSE(path_matches("/users/me", "/users/me/"));
  CHECK_FALSE(path_matches("/users/me", "/users/m"));
  CHECK(path_matches("/users/{id}", "/users/42", &param));
  CHECK(param == "42");
  CHECK_FALSE(path_matches("/users/{id}", "/users/"));
  CHECK_FALSE(path_matches("/users/{id}", "/users/42/posts"));
  CHECK(path_matches("/auth/{provider}/callback", "/auth/google/callback", &param));
  CHECK(param == "google");
}
