// Tests for config/net_parse: host:port, http URLs, CIDRs, HTTP tokens.
#include "config/net_parse.hpp"

#include <doctest/doctest.h>

using namespace doorman::config;

TEST_CASE("parse_host_port") {
  HostPort hp;
  CHECK(parse_host_port("0.0.0.0:8000", hp).empty());
  CHECK(hp.host == "0.0.0.0");
  CHECK(hp.port == 8000);
  CHECK(parse_host_port("[::1]:9901", hp).empty());
  CHECK(hp.host == "::1");
  CHECK(parse_host_port("localhost:1", hp).empty());
  CHECK_FALSE(parse_host_port("8000", hp).empty());
  CHECK_FALSE(parse_host_port("host:0", hp).empty());
  CHECK_FALSE(parse_host_port("host:65536", hp).empty());
  CHECK_FALSE(parse_host_port("host:80x", hp).empty());
  CHECK_FALSE(parse_host_port(":8000", hp).empty());
  CHECK_FALSE(parse_host_port("::1:8000", hp).empty());
  CHECK_FALSE(parse_host_port("[zz]:8000", hp).empty());
  CHECK_FALSE(parse_host_port("a b:80", hp).empty());
}

TEST_CASE("parse_http_url") {
  HttpUrl u;
  CHECK(parse_http_url("http://127.0.0.1:8080", u).empty());
  CHECK(u.endpoint.port == 8080);
  CHECK(parse_http_url("http://example.com/", u).empty());
  CHECK(u.endpoint.host == "example.com");
  CHECK(u.endpoint.port == 80);
  CHECK(parse_http_url("http://[::1]", u).empty());
  CHECK(u.endpoint.host == "::1");
  CHECK(u.endpoint.port == 80);
  CHECK(parse_http_url("https://h", u).empty());
  CHECK(u.scheme == "https");
  CHECK(u.endpoint.port == 443);
  CHECK_FALSE(parse_http_url("ftp://h", u).empty());
  CHECK_FALSE(parse_http_url("http://h/path", u).empty());
  CHECK_FALSE(parse_http_url("http://h?q", u).empty());
  CHECK_FALSE(parse_http_url("http://u:p@h", u).empty());
  CHECK_FALSE(parse_http_url("http://h:99999", u).empty());
  CHECK_FALSE(parse_http_url("127.0.0.1:8080", u).empty());
  CHECK(parse_http_url("http://h:81/_doorman/events?x=1", u, true).empty());
  CHECK(u.endpoint.port == 81);
  CHECK(u.target == "/_doorman/events?x=1");
  CHECK_FALSE(parse_http_url("http://h/a#f", u, true).empty());
}

TEST_CASE("parse_cidr") {
  Cidr c;
  CHECK(parse_cidr("10.1.2.3/8", c).empty());
  CHECK(c.prefix_length == 8);
  CHECK(c.address == std::vector<std::uint8_t>{10, 0, 0, 0});
  CHECK(c.text == "10.1.2.3/8");
  CHECK(parse_cidr("192.168.1.7", c).empty());
  CHECK(c.prefix_length == 32);
  CHECK(parse_cidr("fd00::1/8", c).empty());
  CHECK(c.address.size() == 16);
  CHECK(c.address[0] == 0xfd);
  CHECK(c.address[15] == 0);
  CHECK(parse_cidr("::1", c).empty());
  CHECK(c.prefix_length == 128);
  CHECK(parse_cidr("10.0.0.0/12", c).empty());
  CHECK_FALSE(parse_cidr("10.0.0.0/33", c).empty());
  CHECK_FALSE(parse_cidr("::/129", c).empty());
  CHECK_FALSE(parse_cidr("10.0.0/8", c).empty());
  CHECK_FALSE(parse_cidr("10.0.0.0/", c).empty());
  CHECK_FALSE(parse_cidr("localhost", c).empty());
}

TEST_CASE("is_http_token") {
  CHECK(is_http_token("X-User-Id"));
  CHECK(is_http_token("GET"));
  CHECK(is_http_token("x_user!"));
  CHECK_FALSE(is_http_token(""));
  CHECK_FALSE(is_http_token("X User"));
  CHECK_FALSE(is_http_token("X:Y"));
  CHECK_FALSE(is_http_token(std::string_view("X\0Y", 3)));
}
