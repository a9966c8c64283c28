// Tests for proxy/identity_headers.cpp: header stripping in every spelling,
// Connection tokens, trusted proxies (IPv4, IPv6, mapped), identity values, cookies.
#include "proxy/identity_headers.hpp"

#include <doctest/doctest.h>

using doorman::authcore::User;
using doorman::config::Cidr;
using doorman::config::Config;
using doorman::proxy::append_connection_tokens;
using doorman::proxy::fold_header_name;
using doorman::proxy::HeaderPolicy;
using doorman::proxy::strip_cookies;

namespace {

Cidr cidr(std::vector<std::uint8_t> address, int prefix) {
  Cidr c;
  c.address = std::move(address);
  c.prefix_length = prefix;
  return c;
}

std::vector<std::uint8_t> v6(std::initializer_list<std::uint8_t> head,
                             std::initializer_list<std::uint8_t> tail = {}) {
  std::vector<std::uint8_t> bytes(16, 0);
  std::copy(head.begin(), head.end(), bytes.begin());
  std::copy(tail.begin(), tail.end(), bytes.end() - static_cast<std::ptrdiff_t>(tail.size()));
  return bytes;
}

Config trusted_config() {
  Config config;
  config.forwarding.trusted_proxies = {
      cidr({10, 0, 0, 0}, 8),
      cidr({192, 168, 1, 128}, 25),
      cidr(v6({0xfd, 0x00}), 8),                           // fd00::/8
      cidr(v6({}, {0xff, 0xff, 172, 16, 0, 0}), 96 + 12),  // ::ffff:172.16.0.0/108
      cidr(v6({}, {1}), 128),                              // ::1/128
  };
  return config;
}

}  // namespace

TEST_CASE("fold_header_name") {
  CHECK(fold_header_name("X_User_Id") == "x-user-id");
  CHECK(fold_header_name("X-USER_ID") == "x-user-id");
  CHECK(fold_header_name("") == "");
  CHECK(fold_header_name("\xc3\x89-A") == "\xc3\x89-a");  // only ASCII folds
}

TEST_CASE("append_connection_tokens") {
  std::vector<std::string> tokens;
  append_connection_tokens("keep-alive, X_Secret ,,\tUpgrade", tokens);
  append_connection_tokens("close", tokens);
  append_connection_tokens("", tokens);
  CHECK(tokens == std::vector<std::string>{"keep-alive", "x-secret", "upgrade", "close"});
}

TEST_CASE("drop_request_header: hop-by-hop and identity headers") {
  Config config;
  config.identity_headers.id = "X-Auth-User";
  const HeaderPolicy policy(config);
  const std::vector<std::string> none;
  for (const char* name :
       {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "UPGRADE",
        "Proxy-Authorization", "X-Auth-User", "x_auth_user", "X-AUTH_USER", "X-User-Email", "x_user_email",
        "X-User-Superuser", "x-user_verified"}) {
    CAPTURE(std::string(name));
    CHECK(policy.drop_request_header(name, none, false));
    CHECK(policy.drop_request_header(name, none, true));
  }
  for (const char* name : {"Host", "Authorization", "Cookie", "Content-Type", "Content-Length", "Accept",
                           "X-User-Id",  // not a configured name here
                           "X-Auth-Users", "X-Auth-Use", "Trailers", "Connection2"}) {
    CAPTURE(std::string(name));
    CHECK_FALSE(policy.drop_request_header(name, none, false));
  }
}

TEST_CASE("drop_request_header: X-Forwarded-* and Forwarded depend on trust") {
  const HeaderPolicy policy(Config{});
  const std::vector<std::string> none;
  for (const char* name : {"X-Forwarded-For", "x_forwarded_proto", "X-Forwarded-Host", "X-Forwarded-Port",
                           "X-Forwarded-Prefix", "Forwarded"}) {
    CAPTURE(std::string(name));
    CHECK(policy.drop_request_header(name, none, false));
    CHECK_FALSE(policy.drop_request_header(name, none, true));
  }
}

TEST_CASE("drop_request_header: Connection tokens") {
  const HeaderPolicy policy(Config{});
  std::vector<std::string> tokens;
  append_connection_tokens(
      "X-Secret, x-forwarded-for, X-User-Id, Host, X-Forwarded-Host, x_forwarded_proto, "
      "X-Forwarded-Port, Authorization",
      tokens);
  CHECK(policy.drop_request_header("X-Secret", tokens, true));
  CHECK(policy.drop_request_header("x_secret", tokens, true));
  CHECK(policy.drop_request_header("Authorization", tokens, true));
  CHECK(policy.drop_request_header("X-Forwarded-Port", tokens, true));
  // Headers doorman sets are never removed by a Connection token.
  CHECK_FALSE(policy.drop_request_header("X-Forwarded-For", tokens, true));
  CHECK_FALSE(policy.drop_request_header("X-Forwarded-Host", tokens, true));
  CHECK_FALSE(policy.drop_request_header("X-Forwarded-Proto", tokens, true));
  CHECK_FALSE(policy.drop_request_header("Host", tokens, true));
  CHECK_FALSE(policy.drop_request_header("X-Other", tokens, true));
  // ... and identity headers are dropped regardless (the caller adds doorman's own).
  CHECK(policy.drop_request_header("X-User-Id", tokens, true));
}

TEST_CASE("identity_for") {
  const HeaderPolicy policy(Config{});
  CHECK(policy.identity_for(nullptr).empty());

  User user;
  user.id = "8f3c1f2e-0000-4000-8000-000000000001";
  user.email = "a@example.com";
  user.is_superuser = true;
  const auto headers = policy.identity_for(&user);
  const std::vector<std::pair<std::string, std::string>> expected = {{"X-User-Id", user.id},
                                                                     {"X-User-Email", "a@example.com"},
                                                                     {"X-User-Superuser", "true"},
                                                                     {"X-User-Verified", "false"}};
  CHECK(headers == expected);

  user.is_active = false;
  CHECK(policy.identity_for(&user).empty());

  Config config;
  config.identity_headers = {"Remote-User", "Remote-Email", "Remote-Admin", "Remote-Verified"};
  const HeaderPolicy custom(config);
  user.is_active = true;
  user.is_superuser = false;
  user.is_verified = true;
  const auto custom_headers = custom.identity_for(&user);
  REQUIRE(custom_headers.size() == 4);
  CHECK(custom_headers[0].first == "Remote-User");
  CHECK(custom_headers[2] == std::pair<std::string, std::string>{"Remote-Admin", "false"});
  CHECK(custom_headers[3] == std::pair<std::string, std::string>{"Remote-Verified", "true"});
}

TEST_CASE("is_trusted_proxy") {
  CHECK_FALSE(HeaderPolicy(Config{}).is_trusted_proxy("127.0.0.1"));

  const HeaderPolicy policy(trusted_config());
  struct Case {
    const char* address;
    bool trusted;
  };
  const Case cases[] = {
      {"10.0.0.1", true},
      {"10.255.255.255", true},
      {"11.0.0.1", false},
      {"192.168.1.128", true},
      {"192.168.1.255", true},
      {"192.168.1.127", false},
      {"::ffff:10.1.2.3", true},  // IPv4-mapped client, IPv4 CIDR
      {"::FFFF:192.168.1.200", true},
      {"::ffff:192.168.1.1", false},
      {"172.16.5.5", true},  // IPv4 client, IPv4-mapped CIDR
      {"::ffff:172.16.15.255", true},
      {"172.31.255.255", true},
      {"172.32.0.0", false},
      {"fd12:3456::1", true},
      {"fe80::1", false},
      {"fe80::1%eth0", false},
      {"fd00::1%eth0", true},
      {"[fd00::1]", true},
      {"::1", true},
      {"::2", false},
      {"", false},
      {"not an address", false},
      {"10.0.0.1:8000", false},
      {"010.0.0.1", false},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.address));
    CHECK(policy.is_trusted_proxy(c.address) == c.trusted);
  }

  Config everything;
  everything.forwarding.trusted_proxies = {cidr({0, 0, 0, 0}, 0), cidr(v6({}), 0)};
  const HeaderPolicy open(everything);
  CHECK(open.is_trusted_proxy("1.2.3.4"));
  CHECK(open.is_trusted_proxy("2001:db8::1"));
}

TEST_CASE("forwarded_for") {
  const HeaderPolicy policy(Config{});
  CHECK(policy.forwarded_for("", "1.2.3.4", false) == "1.2.3.4");
  CHECK(policy.forwarded_for("9.9.9.9", "1.2.3.4", false) == "1.2.3.4");
  CHECK(policy.forwarded_for("", "1.2.3.4", true) == "1.2.3.4");
  CHECK(policy.forwarded_for("  ", "1.2.3.4", true) == "1.2.3.4");
  CHECK(policy.forwarded_for("9.9.9.9, 8.8.8.8", "1.2.3.4", true) == "9.9.9.9, 8.8.8.8, 1.2.3.4");
}

TEST_CASE("strip_cookies") {
  const std::vector<std::string> names = {"fastapiusersauth", "fastapiusersoauthcsrf"};
  CHECK(strip_cookies("a=1; fastapiusersauth=tok; b=2", names) == "a=1; b=2");
  CHECK(strip_cookies("fastapiusersauth=tok", names) == "");
  CHECK(strip_cookies("fastapiusersauth=tok;fastapiusersoauthcsrf=x", names) == "");
  CHECK(strip_cookies("b=2;a=1", names) == "b=2; a=1");
  CHECK(strip_cookies("  a=1 ;; b=\"q;\" ", names) ==
        "a=1; b=\"q; \"");  // quoted values are not special in Cookie
  CHECK(strip_cookies("FastAPIUsersAuth=keep", names) ==
        "FastAPIUsersAuth=keep");  // names are case-sensitive
  CHECK(strip_cookies("flag; fastapiusersauth=x", names) == "flag");
  CHECK(strip_cookies("a=1", {}) == "a=1");
  CHECK(strip_cookies("", names) == "");
}
