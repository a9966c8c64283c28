// CookieTransport and find_cookie: Starlette's Cookie parsing and Python's
// Set-Cookie serialisation, checked against what fastapi-users 14 answered.
#include <doctest/doctest.h>

#include "authcore/cookie_transport.hpp"
#include "authcore/fixture_tokens.hpp"

namespace {

using doorman::authcore::CookieTransport;
using doorman::authcore::find_cookie;
using doorman::authcore::RequestCredentials;
using doorman::config::SameSite;
using doorman::config::TransportConfig;
using doorman::config::TransportKind;

TransportConfig cookie_config() {
  TransportConfig c;
  c.type = TransportKind::cookie;
  return c;
}

std::optional<std::string> cookie(std::string_view header, std::string_view name) {
  const auto v = find_cookie(header, name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace

TEST_CASE("find_cookie parses like Starlette") {
  CHECK(cookie("a=1; b=2", "b") == "2");
  CHECK(cookie("a=1;b=2", "a") == "1");
  CHECK(cookie("  a = 1 ;  b=2", "a") == "1");
  CHECK(cookie("a=\"quoted\"", "a") == "quoted");
  CHECK(cookie("a=\"\"", "a") == "");
  CHECK(cookie("a=\"", "a") == "\"");
  CHECK(cookie("a=x=y", "a") == "x=y");  // split at the first '='
  CHECK(cookie("a=", "a") == "");
  CHECK(cookie("A=1", "a") == std::nullopt);  // names are exact
  CHECK(cookie("ab=1; b=2", "a") == std::nullopt);
  CHECK(cookie("a=1; a=2", "a") == "2");  // a dict: the last one wins
  CHECK(cookie("lonely; a=1", "a") == "1");
  CHECK(cookie("", "a") == std::nullopt);
  CHECK(cookie(";;", "a") == std::nullopt);
}

TEST_CASE("cookie transport extracts its own cookie, absent or empty is no token") {
  CookieTransport transport(cookie_config());
  const auto extract = [&](std::string_view header) -> std::optional<std::string> {
    const auto t = transport.extract(RequestCredentials{"Bearer ignored", header});
    if (!t) return std::nullopt;
    return std::string(*t);
  };
  CHECK(extract("fastapiusersauth=tok") == "tok");
  CHECK(extract("other=1; fastapiusersauth=tok; x=y") == "tok");
  CHECK(extract("fastapiusersauth=") == std::nullopt);
  CHECK(extract("fastapiusersauth=\"\"") == std::nullopt);
  CHECK(extract("other=tok") == std::nullopt);
  CHECK(extract("") == std::nullopt);
  CHECK(transport.cookie_name() == std::optional<std::string>("fastapiusersauth"));
}

TEST_CASE("cookie login answer matches fastapi-users 14 byte for byte") {
  auto config = cookie_config();
  config.cookie_max_age = 3600;
  config.cookie_secure = false;
  CookieTransport transport(config);

  const auto& tokens = doorman::test::fixture_tokens();
  const auto login = transport.login_answer(tokens["carol_database_token"].get<std::string>());
  CHECK(login.status == 204);
  CHECK_FALSE(login.has_body);
  REQUIRE(login.headers.size() == 1);
  CHECK(login.headers[0].first == "Set-Cookie");
  CHECK(login.headers[0].second == tokens["cookie_login_set_cookie"].get<std::string>());
}

TEST_CASE("cookie attributes: order and omissions") {
  CookieTransport defaults(cookie_config());  // upstream defaults: session cookie, Secure
  CHECK(defaults.login_answer("t").headers[0].second ==
        "fastapiusersauth=t; HttpOnly; Path=/; SameSite=lax; Secure");
  CHECK(defaults.logout_answer().headers[0].second ==
        "fastapiusersauth=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure");

  auto config = cookie_config();
  config.cookie_name = "sid";
  config.cookie_domain = "example.com";
  config.cookie_max_age = 60;
  config.cookie_path = "/app";
  config.cookie_httponly = false;
  config.cookie_samesite = SameSite::strict;
  CookieTransport custom(config);
  CHECK(custom.login_answer("t").headers[0].second ==
        "sid=t; Domain=example.com; Max-Age=60; Path=/app; SameSite=strict; Secure");
  const auto logout = custom.logout_answer();
  CHECK(logout.status == 204);
  CHECK_FALSE(logout.has_body);
  CHECK(logout.headers[0].second ==
        "sid=\"\"; Domain=example.com; Max-Age=0; Path=/app; SameSite=strict; Secure");

  config.cookie_samesite = SameSite::none;
  config.cookie_domain.reset();
  config.cookie_secure = false;
  CHECK(CookieTransport(config).login_answer("t").headers[0].second ==
        "sid=t; Max-Age=60; Path=/app; SameSite=none");
}
