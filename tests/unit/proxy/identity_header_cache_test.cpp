// IdentityHeaderCache: the same lines as HeaderPolicy::identity_for, rebuilt
// whenever the user's identity changes, none for no user or an inactive one.
#include "proxy/identity_header_cache.hpp"

#include <doctest/doctest.h>

#include <string>

using doorman::authcore::User;
using doorman::config::Config;
using doorman::proxy::HeaderPolicy;
using doorman::proxy::IdentityHeaderCache;

namespace {

User user(std::string id, std::string email) {
  User u;
  u.id = std::move(id);
  u.email = std::move(email);
  return u;
}

std::string expected_lines(const HeaderPolicy& policy, const User& u) {
  std::string out;
  for (const auto& [name, value] : policy.identity_for(&u)) out += name + ": " + value + "\r\n";
  return out;
}

}  // namespace

TEST_CASE("lines match identity_for and follow every change of the user") {
  const Config config;
  const HeaderPolicy policy(config);
  IdentityHeaderCache cache;
  auto alice = user("9283b342-9a83-4503-9771-9cf8129482aa", "alice@example.com");
  CHECK(std::string(cache.lines_for(policy, &alice)) ==
        "X-User-Id: 9283b342-9a83-4503-9771-9cf8129482aa\r\nX-User-Email: alice@example.com\r\n"
        "X-User-Superuser: false\r\nX-User-Verified: false\r\n");
  CHECK(std::string(cache.lines_for(policy, &alice)) == expected_lines(policy, alice));

  alice.email = "alice2@example.com";
  CHECK(std::string(cache.lines_for(policy, &alice)) == expected_lines(policy, alice));
  alice.is_superuser = true;
  CHECK(std::string(cache.lines_for(policy, &alice)).find("X-User-Superuser: true\r\n") != std::string::npos);
  alice.is_verified = true;
  CHECK(std::string(cache.lines_for(policy, &alice)).find("X-User-Verified: true\r\n") != std::string::npos);
  alice.is_active = false;
  CHECK(cache.lines_for(policy, &alice).empty());
  CHECK(cache.lines_for(policy, nullptr).empty());
}

TEST_CASE("users sharing a slot do not see each other's lines") {
  const Config config;
  const HeaderPolicy policy(config);
  IdentityHeaderCache cache;
  // More users than slots: some must collide.
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < IdentityHeaderCache::kSlots * 2; ++i) {
      const auto u = user("id-" + std::to_string(i), "u" + std::to_string(i) + "@example.com");
      REQUIRE(std::string(cache.lines_for(policy, &u)) == expected_lines(policy, u));
    }
  }
}

TEST_CASE("another policy (other header names) starts over") {
  const Config plain;
  Config renamed;
  renamed.identity_headers.id = "X-Auth-Id";
  renamed.identity_headers.email = "";  // not sent
  const HeaderPolicy first(plain);
  const HeaderPolicy second(renamed);
  IdentityHeaderCache cache;
  const auto alice = user("a1", "alice@example.com");
  CHECK(std::string(cache.lines_for(first, &alice)) == expected_lines(first, alice));
  CHECK(std::string(cache.lines_for(second, &alice)) == expected_lines(second, alice));
  CHECK(std::string(cache.lines_for(second, &alice)).starts_with("X-Auth-Id: a1\r\n"));
  CHECK(std::string(cache.lines_for(second, &alice)).find("alice@") == std::string::npos);
}
