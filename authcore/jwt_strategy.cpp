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

// `exp` (whole Unix seconds) as a TokenOwner expiry; kNoExpiry is none.
std::optional<std::chrono::system_clock::time_point> expiry_time(std::int64_t exp) {
  if (exp == VerifiedTokenCache::kNoExpiry) return std::nullopt;
  // Beyond what a time_point holds, the token outlives any clock reading.
  constexpr std::int64_t kLatest = std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::time_point::max().time_since_epoch())
                                       .count();
  if (exp >= kLatest) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(exp));
}

}  // namespace

JwtStrategy::JwtStrategy(const config::StrategyConfig& config)
    : key_(config.algorithm, config.secret, config.private_key_pem, config.public_key_pem),
      lifetime_seconds_(config.lifetime_seconds),
      cache_owner_(VerifiedTokenCache::new_owner()) {}

TokenRead JwtStrategy::read(std::string_view token) {
  const auto now = std::chrono::system_clock::now();
  const std::int64_t now_seconds = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  // Algorithm, key and audience are fixed per strategy, and iat/nbf once passed stay
  // passed: of what verify() checks, only exp can change its answer for the same bytes.
  auto& cache = VerifiedTokenCache::for_this_thread();
  if (const auto cached = cache.find(token, cache_owner_, now_seconds)) {
    return std::optional<TokenOwner>(TokenOwner{std::string(cached->user_id), expiry_time(cached->exp)});
  }
  const auto claims = key_.verify(token, kAccessTokenAudience, now);
  if (!claims) return std::optional<TokenOwner>();
  const auto sub = claims.value().find("sub");
  if (sub == claims.value().end() || !sub->is_string()) return std::optional<TokenOwner>();
  auto id = parse_uuid(sub->get_ref<const std::string&>());
  if (!id) return std::optional<TokenOwner>();
  const std::int64_t exp = expiry_of(claims.value());
  cache.insert(token, cache_owner_, *id, exp, now_seconds);
  return std::optional<TokenOwner>(TokenOwner{std::move(*id), expiry_time(exp)});
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
