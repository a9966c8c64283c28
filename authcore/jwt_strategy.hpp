// JwtStrategy: access tokens as fastapi-users' JWTStrategy signs them (`sub`,
// `aud: ["fastapi-users:auth"]`, `exp`); stateless, so reads never block. A token
// read again on the same thread comes from the verified-token cache until `exp`.
#pragma once

#include <cstdint>
#include <optional>

#include "authcore/jwt.hpp"
#include "authcore/strategy.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

inline constexpr std::string_view kAccessTokenAudience = "fastapi-users:auth";

class JwtStrategy final : public Strategy {
 public:
  // Throws std::runtime_error on unusable key material (startup).
  explicit JwtStrategy(const config::StrategyConfig& config);

  bool reads_without_blocking() const override { return true; }
  // The canonical user id of a valid token; nullopt for any failure.
  TokenRead read(std::string_view token) override;
  Result<std::string, StrategyError> write(const User& user) override;
  // Nothing to destroy: the JWT stays valid until `exp`, as upstream.
  Result<bool, StrategyError> destroy(std::string_view token, const User& user) override;

 private:
  JwtKey key_;
  std::optional<int> lifetime_seconds_;
  // This strategy's identity in the per-thread verified-token caches: a token
  // verified with another key (another backend, or before a reload) is not a hit.
  std::uint64_t cache_owner_;
};

}  // namespace doorman::authcore
