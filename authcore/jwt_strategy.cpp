// JwtStrategy: sign and verify access JWTs; `sub` must parse as a UUID.
#include "authcore/jwt_strategy.hpp"

#include "authcore/uuid.hpp"

namespace doorman::authcore {

JwtStrategy::JwtStrategy(const config::StrategyConfig& config)
    : key_(config.algorithm, config.secret, config.private_key_pem, config.public_key_pem),
      lifetime_seconds_(config.lifetime_seconds) {}

Result<std::optional<std::string>, StrategyError> JwtStrategy::read(std::string_view token) {
  const auto claims = key_.verify(token, kAccessTokenAudience, std::chrono::system_clock::now());
  if (!claims) return std::optional<std::string>();
  const auto sub = claims.value().find("sub");
  if (sub == claims.value().end() || !sub->is_string()) return std::optional<std::string>();
  return parse_uuid(sub->get_ref<const std::string&>());
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
