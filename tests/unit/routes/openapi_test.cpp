// routes/openapi.cpp: the document served at {auth}/openapi.json lists exactly
// the routes the RouteTable serves, with the configured prefixes and backend
// names, and leaves out disabled routers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "routes/api_fixture.hpp"
#include "routes/openapi.hpp"
#include "routes/route_table.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::size_t operation_count(const nlohmann::json& document) {
  std::size_t n = 0;
  for (const auto& [path, item] : document.at("paths").items()) n += item.size();
  return n;
}

// Every route the table serves is in the document, and nothing else is.
void check_document_matches_table(const config::Config& config) {
  const RouteTable table(config);
  const nlohmann::json document = nlohmann::json::parse(dump_json(openapi_document(table, config)));
  CHECK(document.at("openapi") == "3.1.0");
  for (const RouteEntry& entry : table.entries()) {
    CAPTURE(entry.path);
    CAPTURE(entry.method);
    REQUIRE(document.at("paths").contains(entry.path));
    const auto& operation = document.at("paths").at(entry.path);
    REQUIRE(operation.contains(lower(entry.method)));
    CHECK(!operation.at(lower(entry.method)).at("responses").empty());
    // The served path is what the table matches with.
    std::string sample = entry.path;
    if (const auto open = sample.find('{'); open != std::string::npos)
      sample.replace(open, sample.find('}') - open + 1, "42");
    CHECK(table.match(entry.method, sample).kind == RouteMatch::Kind::route);
  }
  CHECK(operation_count(document) == table.entries().size());
}

}  // namespace

TEST_CASE("openapi: every served route is documented, with its body and responses") {
  check_document_matches_table(test_config());

  ApiFixture f;
  Request r;
  r.path = "/auth/openapi.json";
  const auto answer = f.send(r);
  CHECK(answer.status == 200);
  CHECK(header(answer, "Content-Type") == "application/json");
  CHECK(answer.body != "");  // run with -s to see the document (checked with openapi-spec-validator, report)
  const auto document = nlohmann::json::parse(answer.body);
  const auto& paths = document.at("paths");
  for (const char* backend : {"jwt", "cookie", "db"}) {
    CHECK(paths.contains(std::string("/auth/") + backend + "/login"));
    CHECK(paths.contains(std::string("/auth/") + backend + "/logout"));
  }
  const auto& jwt_login = paths.at("/auth/jwt/login").at("post");
  CHECK(jwt_login.at("summary") == "Auth:Jwt.Login");
  CHECK(jwt_login.at("operationId") == "auth_jwt_login_auth_jwt_login_post");
  CHECK(jwt_login.at("requestBody").at("content").contains("application/x-www-form-urlencoded"));
  CHECK(jwt_login.at("responses").contains("200"));
  CHECK(paths.at("/users/me").at("patch").at("summary") == "Users:Patch Current User");
  CHECK(paths.at("/auth/request-verify-token").at("post").at("summary") == "Verify:Request-Token");
  CHECK(paths.at("/auth/cookie/login").at("post").at("responses").contains("204"));
  CHECK(jwt_login.at("responses")
            .at("400")
            .at("content")
            .at("application/json")
            .at("examples")
            .contains("LOGIN_BAD_CREDENTIALS"));

  const auto& reset = paths.at("/auth/reset-password").at("post");
  CHECK(reset.at("requestBody").at("content").at("application/json").at("schema").at("required") ==
        nlohmann::json::array({"token", "password"}));
  CHECK(
      reset.at("responses")
          .at("400")
          .at("content")
          .at("application/json")
          .at("examples")
          .at("RESET_PASSWORD_INVALID_PASSWORD")
          .at("value") ==
      nlohmann::json::parse(
          R"({"detail":{"code":"RESET_PASSWORD_INVALID_PASSWORD","reason":"Password should be at least 8 characters"}})"));
  CHECK(paths.at("/auth/forgot-password").at("post").at("responses").contains("202"));
  CHECK(paths.at("/auth/verify")
            .at("post")
            .at("responses")
            .at("400")
            .at("content")
            .at("application/json")
            .at("examples")
            .contains("VERIFY_USER_ALREADY_VERIFIED"));

  const auto& user_id = paths.at("/users/{id}");
  for (const char* method : {"get", "patch", "delete"}) {
    CAPTURE(method);
    CHECK(user_id.at(method).at("parameters").at(0).at("name") == "id");
    for (const char* status : {"401", "403", "404"})
      CHECK(user_id.at(method).at("responses").contains(status));
    CHECK(user_id.at(method).at("security").size() == 3);
  }
  CHECK(user_id.at("delete").at("responses").contains("204"));
  CHECK(user_id.at("patch").at("requestBody").at("content").at("application/json").at("schema").at("$ref") ==
        "#/components/schemas/UserUpdate");
  CHECK(document.at("components").at("securitySchemes").at("cookie").at("name") == "fastapiusersauth");
  CHECK(document.at("components").at("securitySchemes").at("jwt").at("flows").at("password").at("tokenUrl") ==
        "/auth/jwt/login");
  // Every $ref resolves.
  const std::string text = answer.body;
  for (std::size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    const auto start = at + std::string_view("#/components/schemas/").size();
    const std::string name = text.substr(start, text.find('"', start) - start);
    CAPTURE(name);
    CHECK(document.at("components").at("schemas").contains(name));
  }
}

TEST_CASE("openapi: prefixes, backend names and router switches follow the config") {
  auto config = test_config();
  config.routes.auth_prefix = "/api/auth";
  config.routes.users_prefix = "/api/accounts";
  config.auth.backends.resize(1);
  config.auth.backends[0].name = "bearer";
  config.routes.verify = false;
  config.routes.reset_password = false;
  config.routes.register_ = false;
  check_document_matches_table(config);
  const RouteTable table(config);
  const nlohmann::json document = nlohmann::json::parse(dump_json(openapi_document(table, config)));
  const auto& paths = document.at("paths");
  CHECK(paths.contains("/api/auth/bearer/login"));
  CHECK(paths.contains("/api/accounts/{id}"));
  CHECK(paths.contains("/api/auth/openapi.json"));
  for (const char* gone : {"/auth/jwt/login", "/api/auth/jwt/login", "/api/auth/register", "/api/auth/verify",
                           "/api/auth/request-verify-token", "/api/auth/forgot-password",
                           "/api/auth/reset-password", "/users/me"})
    CHECK_FALSE(paths.contains(gone));

  config.routes.users = false;
  check_document_matches_table(config);
  const nlohmann::json no_users =
      nlohmann::json::parse(dump_json(openapi_document(RouteTable(config), config)));
  CHECK_FALSE(no_users.at("paths").contains("/api/accounts/me"));
  CHECK_FALSE(no_users.at("paths").contains("/api/accounts/{id}"));
}
