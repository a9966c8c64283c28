// The compiled access rule table (DESIGN.md §4): matchers built once in the
// constructor, first match wins, and the level's verdict for the request's user.
#include "proxy/access_policy.hpp"

#include <algorithm>
#include <stdexcept>

// GCC 12's <regex> trips -Wmaybe-uninitialized under -fsanitize (GCC PR 105562,
// a false positive); -Werror would otherwise fail sanitizer builds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop

namespace doorman::proxy {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

struct CompiledRule {
  config::MatchKind kind;
  std::string pattern;  // path and prefix kinds
  std::regex regex;     // regex kind
  std::vector<std::string> methods;
  config::AccessLevel level;
  bool ignore_case;

  bool matches_method(std::string_view method) const {
    // HTTP methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
    return methods.empty() || std::find(methods.begin(), methods.end(), method) != methods.end();
  }

  bool matches_path(std::string_view path) const {
    switch (kind) {
      case config::MatchKind::path:
        return ignore_case ? equal_ignore_case(path, pattern) : path == pattern;
      case config::MatchKind::prefix:
        return path.size() >= pattern.size() &&
               (ignore_case ? equal_ignore_case(path.substr(0, pattern.size()), pattern)
                            : path.starts_with(pattern));
      case config::MatchKind::regex:
        return std::regex_search(path.begin(), path.end(), regex);
    }
    return false;
  }
};

CompiledRule compile(const config::AccessRule& rule) {
  CompiledRule compiled{rule.kind, {}, {}, rule.methods, rule.access, rule.ignore_case};
  if (rule.kind == config::MatchKind::regex) {
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    if (rule.ignore_case) flags |= std::regex::icase;
    try {
      compiled.regex = std::regex(rule.pattern, flags);
    } catch (const std::regex_error& e) {
      throw std::runtime_error("access rule (line " + std::to_string(rule.line) + "): bad regex \"" +
                               rule.pattern + "\": " + e.what());
    }
  } else {
    compiled.pattern = rule.pattern;
  }
  return compiled;
}

}  // namespace

struct AccessPolicy::Impl {
  std::vector<CompiledRule> rules;
  config::AccessLevel default_level;
};

AccessPolicy::AccessPolicy(const config::AccessConfig& access) : impl_(std::make_unique<Impl>()) {
  impl_->default_level = access.default_access;
  impl_->rules.reserve(access.rules.size());
  for (const auto& rule : access.rules) impl_->rules.push_back(compile(rule));
}

AccessPolicy::~AccessPolicy() = default;

config::AccessLevel AccessPolicy::required_level(std::string_view method, std::string_view path) const {
  try {
    for (const auto& rule : impl_->rules) {
      if (rule.matches_method(method) && rule.matches_path(path)) return rule.level;
    }
  } catch (const std::exception&) {
    // std::regex may throw (error_complexity, error_stack) on a pathological path:
    // a rule that cannot be evaluated fails closed.
    return config::AccessLevel::deny;
  }
  return impl_->default_level;
}

AccessDecision AccessPolicy::decide(std::string_view method, std::string_view path,
                                    const authcore::User* user) const {
  using config::AccessLevel;
  AccessDecision decision;
  decision.level = required_level(method, path);
  const bool active = user != nullptr && user->is_active;
  switch (decision.level) {
    case AccessLevel::anonymous:
      decision.verdict = AccessVerdict::forward;
      break;
    case AccessLevel::deny:
      decision.verdict = AccessVerdict::forbidden;
      break;
    case AccessLevel::authenticated:
      decision.verdict = active ? AccessVerdict::forward : AccessVerdict::unauthenticated;
      break;
    case AccessLevel::verified:
      decision.verdict = !active             ? AccessVerdict::unauthenticated
                         : user->is_verified ? AccessVerdict::forward
                                             : AccessVerdict::forbidden;
      break;
    case AccessLevel::superuser:
      decision.verdict = !active              ? AccessVerdict::unauthenticated
                         : user->is_superuser ? AccessVerdict::forward
                                              : AccessVerdict::forbidden;
      break;
  }
  return decision;
}

}  // namespace doorman::proxy
