// RedisStrategy: opaque tokens as fastapi-users' RedisStrategy keeps them:
// key `{key_prefix}{token}` holding the user id, with TTL = lifetime; logout
// deletes the key. read() blocks (it runs on the blocking pool); the proxy's
// workers read the same keys asynchronously through key_for()/user_id_from().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "authcore/redis_commands.hpp"
#include "authcore/redis_url.hpp"
#include "authcore/strategy.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

class RedisStrategy final : public Strategy {
 public:
  // lifetime: null or 0 = keys without expiry. `endpoint` is what the proxy's
  // asynchronous connections dial; `commands` serves the blocking calls.
  RedisStrategy(RedisCommandsPtr commands, RedisEndpoint endpoint, std::string key_prefix,
                std::optional<int> lifetime_seconds);

  bool reads_without_blocking() const override { return false; }
  TokenRead read(std::string_view token) override;
  Result<std::string, StrategyError> write(const User& user) override;
  Result<bool, StrategyError> destroy(std::string_view token, const User& user) override;

  // The key a token lives under; nullopt for a token that cannot be one of
  // ours (wrong length or alphabet), which is then never sent to Redis.
  std::optional<std::string> key_for(std::string_view token) const;
  // Whom a stored value names (the user id in canonical form), nullopt for a
  // value that is not a UUID: such a key names no user. `pttl_ms` is the key's
  // PTTL read with it (-1: no expiry), nullopt when not read (then nothing may
  // remember the answer past `now`).
  static std::optional<TokenOwner> owner_from(std::string_view value, std::optional<long long> pttl_ms,
                                              std::chrono::system_clock::time_point now);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  RedisCommandsPtr commands_;
  RedisEndpoint endpoint_;
  std::string key_prefix_;
  std::optional<int> lifetime_seconds_;
};

// The RedisStrategy of a `type: redis` strategy config: parses the URL
// (throws std::runtime_error naming the problem at startup) and connects lazily.
StrategyPtr make_redis_strategy(const config::StrategyConfig& config);

}  // namespace doorman::authcore
