// BearerTransport: Authorization parsing as FastAPI does it, and the login/logout answers.
#include <doctest/doctest.h>

#include "authcore/bearer_transport.hpp"

namespace {

using doorman::authcore::BearerTransport;
using doorman::authcore::RequestCredentials;

std::optional<std::string> extract(std::string_view authorization) {
  const auto token = BearerTransport().extract(RequestCredentials{authorization, ""});
  if (!token) return std::nullopt;
  return std::string(*token);
}

}  // namespace

TEST_CASE("bearer token extraction") {
  struct Case {
    const char* header;
    std::optional<std::string> token;
  };
  const Case cases[] = {
      {"Bearer abc.def.ghi", "abc.def.ghi"},
      {"bearer tok", "tok"},
      {"BEARER tok", "tok"},
      {"bEaReR tok", "tok"},
      {"bearer  tok ", "tok"},  // the rest is stripped
      {"Bearer a b", "a b"},    // everything after the first space
      {"Bearer \ttok\t", "tok"},
      {"Bearer", std::nullopt},  // no space: scheme only
      {"Bearer ", std::nullopt},
      {"Bearer    ", std::nullopt},
      {"Basic x", std::nullopt},
      {"Bearertoken", std::nullopt},
      {" Bearer tok", std::nullopt},  // empty scheme before the first space
      {"Bearer\ttok", std::nullopt},  // only a space separates the scheme
      {"Token tok", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.header);
    CHECK(extract(c.header) == c.token);
  }
}

TEST_CASE("bearer login and logout answers") {
  BearerTransport transport;
  const auto login = transport.login_answer("abc.def-_ghi");
  CHECK(login.status == 200);
  CHECK(login.has_body);
  CHECK(login.body == R"({"access_token":"abc.def-_ghi","token_type":"bearer"})");
  REQUIRE(login.headers.size() == 1);
  CHECK(login.headers[0] == std::pair<std::string, std::string>("Content-Type", "application/json"));

  const auto logout = transport.logout_answer();
  CHECK(logout.status == 204);
  CHECK_FALSE(logout.has_body);
  CHECK(logout.body.empty());
  CHECK(logout.headers.empty());
  CHECK_FALSE(transport.cookie_name().has_value());
}
