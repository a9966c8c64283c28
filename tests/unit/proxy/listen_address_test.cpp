// Tests for proxy/listen_address.cpp: IP literal endpoints, their text form, and
// the error that names the config key.
#include "proxy/listen_address.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using doorman::proxy::format_endpoint;
using doorman::proxy::parse_ip_endpoint;
using doorman::proxy::resolve_endpoints;

TEST_CASE("IPv4 and IPv6 literals with a port parse") {
  auto v4 = parse_ip_endpoint("0.0.0.0:8000");
  REQUIRE(v4);
  CHECK(v4->address().is_v4());
  CHECK(v4->port() == 8000);
  auto v6 = parse_ip_endpoint("[::1]:9901");
  REQUIRE(v6);
  CHECK(v6->address().is_v6());
  CHECK(v6->port() == 9901);
}

TEST_CASE("host names, missing and bad ports are not IP endpoints") {
  CHECK_FALSE(parse_ip_endpoint("localhost:8000"));
  CHECK_FALSE(parse_ip_endpoint("127.0.0.1"));
  CHECK_FALSE(parse_ip_endpoint("127.0.0.1:0"));
  CHECK_FALSE(parse_ip_endpoint("127.0.0.1:65536"));
  CHECK_FALSE(parse_ip_endpoint("127.0.0.1:http"));
  CHECK_FALSE(parse_ip_endpoint(""));
}

TEST_CASE("endpoints format back to their config form") {
  CHECK(format_endpoint(*parse_ip_endpoint("0.0.0.0:8000")) == "0.0.0.0:8000");
  CHECK(format_endpoint(*parse_ip_endpoint("[::1]:9901")) == "[::1]:9901");
}

TEST_CASE("resolve_endpoints takes literals as they are and names the key on error") {
  const auto endpoints = resolve_endpoints("127.0.0.1:8080", "upstream.url");
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints.front().port() == 8080);
  try {
    resolve_endpoints("no port here", "server.listen");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("server.listen") != std::string::npos);
  }
}
