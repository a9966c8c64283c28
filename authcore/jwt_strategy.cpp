// JwtStrategy: sign and verify access JWTs; `sub` must parse as a UUID.
#include "authcore/jwt_strategy.hpp"

#include <cmath>

#include "authcore/uuid.hpp"
#include "authcore/verified_token_cache.hpp"

namespace doorman::authcore {
namespace {

// The `exp` of verified claims in whole seconds, as verify() compared it (truncated);
// kNoExpiry when the token has none. verify() already refused a non-numeric one.
std::int64_t expiry_of(const nlohmann::json& claims) {
  const auto it = claims.find("exp");
  if (it == claims.end() || !it->is_number()) return VerifiedTokenCache::kNoExpiry;
  const double exp = std::trunc(it->get<double>());
  // 2^63 as a double; anything at or past it never comes.
  if (!(exp < 9223372036854775808.0)) return VerifiedTokenCache::kNoExpiry;
  return static_cast<std::int64_t>(exp);
}

}  // namespace

JwtStrategy::JwtStrategy(const config::StrategyConfig& config)
    : key_(config.algorithm, config.secret, config.private_key_pem, config.public_key_pem),
      lifetime_seconds_(config.lifetime_seconds),
      cache_owner_(VerifiedTokenCache::new_owner()) {}

Result<std::optional<std::string>, StrategyError> JwtStrategy::read(std::string_view token) {
  const auto now = std::chrono::system_clock::now();
  const std::int64_t now_seconds = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  // Algorithm, key and audience are fixed per strategy, and iat/nbf once passed stay
  // passed: of what verify() checks, only exp can change its answer for the same bytes.
  auto& cache = VerifiedTokenCache::for_this_thread();
  if (const auto cached = cache.find(token, cache_owner_, now_seconds)) {
    return std::optional<std::string>(std::in_place, *cached);
  }
  const auto claims = key_.verify(token, kAccessTokenAudience, now);
  if (!claims) return std::optional<std::string>();
  const auto sub = claims.value().find("sub");
  if (sub == claims.value().end() || !sub->is_string()) return std::optional<std::string>();
  auto id = parse_uuid(sub->get_ref<const std::string&>());
  if (id) cache.insert(token, cache_owner_, *id, expiry_of(claims.value()), now_seconds);
  return id;
}

Result<std::string, StrategyError> JwtStrategy::write(const User& user) {
  nlohmann::ordered_json claims;
  claims["sub"] = user.id;
  claims["aud"] = nlohmann::ordered_json::array({std::string(kAccessTokenAudience)});
  // Python's `if lifetime_seconds:`: any non-zero lifetime sets exp, as an
  // integer (PyJWT truncates the datetime to whole seconds).
  if (lifetime_seconds_.value_or(0) != 0) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    claims["exp"] = now.time_since_epoch().count() + *lifetime_seconds_;
  }
  return key_.sign(claims);
}

Result<bool, StrategyError> JwtStrategy::destroy(std::string_view, const User&) { return true; }

}  // namespace doorman::authcore
