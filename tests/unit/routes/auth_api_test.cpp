// routes/auth_api.cpp: what proxy sees: 405 with Allow, 307 with the query
// kept, forwarded paths, and handle() on a non-route match.
#include <doctest/doctest.h>

#include <stdexcept>

#include "routes/api_fixture.hpp"

using namespace doorman;
using namespace doorman::routes;
using namespace doorman::routes::testing;

TEST_CASE("auth api: 405 Method Not Allowed with Allow") {
  ApiFixture f;
  Request r;
  r.method = "GET";
  r.path = "/auth/jwt/login";
  const auto answer = f.send(r);
  CHECK(answer.status == 405);
  CHECK(answer.body == R"({"detail":"Method Not Allowed"})");
  CHECK(header(answer, "Allow") == "POST");
  CHECK(header(answer, "Content-Type") == "application/json");
  r.method = "PUT";
  r.path = "/users/me";
  CHECK(header(f.send(r), "Allow") == "GET");
}

TEST_CASE("auth api: 307 to the route without the trailing slash, query kept") {
  ApiFixture f;
  Request r;
  r.method = "POST";
  r.path = "/auth/register/";
  const auto plain = f.send(r);
  CHECK(plain.status == 307);
  CHECK(header(plain, "Location") == "/auth/register");
  CHECK_FALSE(plain.has_body);
  r.query = "next=%2Fhome&x=1";
  CHECK(header(f.send(r), "Location") == "/auth/register?next=%2Fhome&x=1");
  CHECK(f.store->users.empty());
}

TEST_CASE("auth api: other paths are not matched (forwarded)") {
  ApiFixture f;
  for (const char* path : {"/users/42/posts", "/auth/verify/x", "/auth/forgot", "/users/me/x",
                           "/auth/oauth/authorize", "/auth/openapi.yaml"}) {
    CAPTURE(path);
    for (const char* method : {"GET", "POST", "PATCH", "DELETE"}) {
      Request r;
      r.method = method;
      r.path = path;
      CHECK(f.send(r).status == 0);
    }
  }
}

TEST_CASE("auth api: handle() of a non-route match answers as answer_non_route") {
  ApiFixture f;
  const auto match = f.api->match("PUT", "/auth/register");
  REQUIRE(match.kind == RouteMatch::Kind::method_not_allowed);
  ApiRequest request;
  request.method = "PUT";
  request.path = "/auth/register";
  CHECK(f.api->handle(match, request).status == 405);
}

TEST_CASE("auth api: a throwing event sink does not fail the request") {
  ApiFixture f;
  f.add_user("alice@example.com");
  AuthApi api(f.config, f.authenticator, f.hasher, [](Event) { throw std::runtime_error("sink down"); });
  ApiRequest request;
  request.method = "POST";
  request.path = "/auth/jwt/login";
  request.content_type = "application/x-www-form-urlencoded";
  request.body = "username=alice@example.com&password=correct+horse";
  CHECK(api.handle(api.match("POST", "/auth/jwt/login"), request).status == 200);
  AuthApi silent(f.config, f.authenticator, f.hasher);  // no sink at all
  CHECK(silent.handle(silent.match("POST", "/auth/jwt/login"), request).status == 200);
}
