// Ordered, precompiled access rules (DESIGN.md §4): the first rule matching
// (method, normalized path) decides; built once from config.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authcore/user.hpp"
#include "config/config.hpp"

namespace doorman::proxy {

enum class AccessVerdict {
  forward,          // with the user's identity if one is set
  unauthenticated,  // 401 or redirect per config
  forbidden,        // 403
};

struct AccessDecision {
  AccessVerdict verdict = AccessVerdict::unauthenticated;
  config::AccessLevel level = config::AccessLevel::authenticated;  // the level that applied
};

class AccessPolicy {
 public:
  // Throws std::runtime_error on a bad regex (startup; the loader validates first).
  explicit AccessPolicy(const config::AccessConfig& access);
  ~AccessPolicy();

  // The level required for (method, path).
  config::AccessLevel required_level(std::string_view method, std::string_view path) const;
  // `user` is the authenticated user, if any (inactive users count as none).
  AccessDecision decide(std::string_view method, std::string_view path, const authcore::User* user) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::proxy
