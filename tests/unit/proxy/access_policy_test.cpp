// Tests for proxy/access_policy.cpp: table-driven rule matching on normalized
// paths (DESIGN.md §4) and the verdict of every level for every kind of user.
#include "proxy/access_policy.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using doorman::authcore::User;
using doorman::config::AccessConfig;
using doorman::config::AccessLevel;
using doorman::config::AccessRule;
using doorman::config::MatchKind;
using doorman::proxy::AccessPolicy;
using doorman::proxy::AccessVerdict;

namespace {

AccessRule rule(MatchKind kind, const char* pattern, AccessLevel level, std::vector<std::string> methods = {},
                bool ignore_case = false) {
  AccessRule r;
  r.kind = kind;
  r.pattern = pattern;
  r.access = level;
  r.methods = std::move(methods);
  r.ignore_case = ignore_case;
  return r;
}

// The rules of DESIGN.md §4 plus case and method edge cases.
AccessConfig design_config() {
  AccessConfig c;
  c.default_access = AccessLevel::authenticated;
  c.rules = {
      rule(MatchKind::path, "/healthz", AccessLevel::anonymous),
      rule(MatchKind::prefix, "/public/", AccessLevel::anonymous),
      rule(MatchKind::prefix, "/admin/", AccessLevel::superuser),
      rule(MatchKind::path, "/admin", AccessLevel::superuser),
      rule(MatchKind::regex, "^/api/v[0-9]+/reports$", AccessLevel::verified, {"POST"}),
      rule(MatchKind::prefix, "/Docs/", AccessLevel::anonymous, {}, true),
      rule(MatchKind::path, "/Status", AccessLevel::anonymous, {}, true),
      rule(MatchKind::regex, "^/files/[a-z]+$", AccessLevel::anonymous, {"GET", "HEAD"}, true),
      rule(MatchKind::prefix, "/closed", AccessLevel::deny),
  };
  return c;
}

struct LevelCase {
  const char* method;
  const char* path;
  AccessLevel level;
};

}  // namespace

TEST_CASE("AccessPolicy: first matching rule or the default") {
  const AccessPolicy policy(design_config());
  const LevelCase cases[] = {
      {"GET", "/healthz", AccessLevel::anonymous},
      {"GET", "/healthz/", AccessLevel::authenticated},  // path is exact
      {"GET", "/HEALTHZ", AccessLevel::authenticated},   // case-sensitive
      {"GET", "/public/", AccessLevel::anonymous},
      {"GET", "/public/a/b", AccessLevel::anonymous},
      {"GET", "/public", AccessLevel::authenticated},  // the prefix has a trailing '/'
      {"GET", "/publicity", AccessLevel::authenticated},
      {"GET", "/admin/", AccessLevel::superuser},
      {"GET", "/admin/x", AccessLevel::superuser},
      {"GET", "/admin", AccessLevel::superuser},
      {"GET", "/ADMIN", AccessLevel::authenticated},
      {"GET", "/ADMIN/x", AccessLevel::authenticated},
      {"GET", "/Admin/", AccessLevel::authenticated},
      {"GET", "/admin%2F",
       AccessLevel::authenticated},  // never produced by the normalizer; no prefix match either
      {"GET", "/admin%2Fx", AccessLevel::authenticated},
      {"GET", "/adminx", AccessLevel::authenticated},
      {"POST", "/api/v1/reports", AccessLevel::verified},
      {"POST", "/api/v12/reports", AccessLevel::verified},
      {"GET", "/api/v1/reports", AccessLevel::authenticated},    // methods filter
      {"post", "/api/v1/reports", AccessLevel::authenticated},   // methods are case-sensitive
      {"POST", "/api/v1/reports/", AccessLevel::authenticated},  // anchored by the user
      {"POST", "/x/api/v1/reports", AccessLevel::authenticated},
      {"POST", "/API/v1/reports", AccessLevel::authenticated},
      {"GET", "/docs/a", AccessLevel::anonymous},  // ignore_case prefix
      {"GET", "/DOCS/a", AccessLevel::anonymous},
      {"GET", "/Docs/", AccessLevel::anonymous},
      {"GET", "/Docs", AccessLevel::authenticated},
      {"GET", "/status", AccessLevel::anonymous},  // ignore_case path
      {"GET", "/STATUS", AccessLevel::anonymous},
      {"GET", "/status/", AccessLevel::authenticated},
      {"GET", "/Files/ABC", AccessLevel::anonymous},  // ignore_case regex
      {"HEAD", "/files/abc", AccessLevel::anonymous},
      {"DELETE", "/files/abc", AccessLevel::authenticated},
      {"GET", "/files/abc1", AccessLevel::authenticated},
      {"GET", "/closed", AccessLevel::deny},
      {"GET", "/closedx/y", AccessLevel::deny},
      {"GET", "/", AccessLevel::authenticated},
      {"GET", "", AccessLevel::authenticated},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.method));
    CAPTURE(std::string(c.path));
    CHECK(policy.required_level(c.method, c.path) == c.level);
  }
}

TEST_CASE("AccessPolicy: order decides between overlapping rules") {
  AccessConfig c;
  c.default_access = AccessLevel::deny;
  c.rules = {
      rule(MatchKind::path, "/admin/login", AccessLevel::anonymous),
      rule(MatchKind::prefix, "/admin/", AccessLevel::superuser),
      rule(MatchKind::path, "/admin/hidden", AccessLevel::anonymous),  // shadowed
      rule(MatchKind::prefix, "/", AccessLevel::authenticated, {"GET"}),
  };
  const AccessPolicy policy(c);
  CHECK(policy.required_level("GET", "/admin/login") == AccessLevel::anonymous);
  CHECK(policy.required_level("POST", "/admin/login") == AccessLevel::anonymous);
  CHECK(policy.required_level("GET", "/admin/hidden") == AccessLevel::superuser);
  CHECK(policy.required_level("GET", "/x") == AccessLevel::authenticated);
  CHECK(policy.required_level("PUT", "/x") == AccessLevel::deny);
}

TEST_CASE("AccessPolicy: regex search is unanchored unless the pattern anchors") {
  AccessConfig c;
  c.rules = {rule(MatchKind::regex, "secret", AccessLevel::deny)};
  const AccessPolicy policy(c);
  CHECK(policy.required_level("GET", "/a/secret/b") == AccessLevel::deny);
  CHECK(policy.required_level("GET", "/a/SECRET/b") == AccessLevel::authenticated);
}

TEST_CASE("AccessPolicy: empty rules use the default") {
  for (const auto level : {AccessLevel::anonymous, AccessLevel::authenticated, AccessLevel::verified,
                           AccessLevel::superuser, AccessLevel::deny}) {
    AccessConfig c;
    c.default_access = level;
    const AccessPolicy policy(c);
    CHECK(policy.required_level("GET", "/anything") == level);
    CHECK(policy.decide("GET", "/anything", nullptr).level == level);
  }
}

TEST_CASE("AccessPolicy: a bad regex throws at construction") {
  AccessConfig c;
  c.rules = {rule(MatchKind::regex, "^/a(", AccessLevel::anonymous)};
  c.rules[0].line = 42;
  CHECK_THROWS_AS(AccessPolicy{c}, std::runtime_error);
  try {
    AccessPolicy policy(c);
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("line 42") != std::string::npos);
  }
}

TEST_CASE("AccessPolicy: verdict of every level for every kind of user") {
  User active;
  active.id = "u";
  User verified = active;
  verified.is_verified = true;
  User superuser = active;
  superuser.is_superuser = true;
  User super_verified = verified;
  super_verified.is_superuser = true;
  User inactive = super_verified;
  inactive.is_active = false;

  constexpr auto F = AccessVerdict::forward;
  constexpr auto U = AccessVerdict::unauthenticated;
  constexpr auto X = AccessVerdict::forbidden;
  struct Row {
    AccessLevel level;
    // none, inactive, active, verified, superuser, superuser+verified
    AccessVerdict expected[6];
  };
  const Row rows[] = {
      {AccessLevel::anonymous, {F, F, F, F, F, F}}, {AccessLevel::authenticated, {U, U, F, F, F, F}},
      {AccessLevel::verified, {U, U, X, F, X, F}},  {AccessLevel::superuser, {U, U, X, X, F, F}},
      {AccessLevel::deny, {X, X, X, X, X, X}},
  };
  const User* users[] = {nullptr, &inactive, &active, &verified, &superuser, &super_verified};
  for (const auto& row : rows) {
    AccessConfig c;
    c.default_access = AccessLevel::anonymous;
    c.rules = {rule(MatchKind::prefix, "/p", row.level)};
    const AccessPolicy policy(c);
    for (int i = 0; i < 6; ++i) {
      CAPTURE(static_cast<int>(row.level));
      CAPTURE(i);
      const auto decision = policy.decide("GET", "/p", users[i]);
      CHECK(decision.level == row.level);
      CHECK(decision.verdict == row.expected[i]);
    }
  }
}
