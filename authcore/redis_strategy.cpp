// RedisStrategy: SET with EX at login, GET + UUID check on read, DEL at logout.
#include "authcore/redis_strategy.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

#include "authcore/random_token.hpp"
#include "authcore/redis_sync_client.hpp"
#include "authcore/uuid.hpp"

namespace doorman::authcore {
namespace {

// Bounds a blocking call's connect and each command: a login or logout waits
// at most this long for a Redis that does not answer, then answers 503.
constexpr std::chrono::milliseconds kBlockingTimeout(2000);

}  // namespace

RedisStrategy::RedisStrategy(RedisCommandsPtr commands, RedisEndpoint endpoint, std::string key_prefix,
                             std::optional<int> lifetime_seconds)
    : commands_(std::move(commands)),
      endpoint_(std::move(endpoint)),
      key_prefix_(std::move(key_prefix)),
      lifetime_seconds_(lifetime_seconds) {}

std::optional<std::string> RedisStrategy::key_for(std::string_view token) const {
  // fastapi-users' tokens are secrets.token_urlsafe() (43 chars), as ours are;
  // anything else (a JWT meant for another backend, garbage) is spared the round trip.
  if (!looks_like_opaque_token(token)) return std::nullopt;
  std::string key;
  key.reserve(key_prefix_.size() + token.size());
  key.append(key_prefix_).append(token);
  return key;
}

std::optional<TokenOwner> RedisStrategy::owner_from(std::string_view value, std::optional<long long> pttl_ms,
                                                    std::chrono::system_clock::time_point now) {
  // As upstream's parse_id (uuid.UUID(value)); the canonical form is what the store is asked for.
  auto id = parse_uuid(value);
  if (!id) return std::nullopt;
  TokenOwner owner{std::move(*id), now};
  if (pttl_ms && *pttl_ms == -1) {
    owner.expires_at.reset();  // a key without a TTL lives until logout
  } else if (pttl_ms && *pttl_ms >= 0) {
    owner.expires_at = now + std::chrono::milliseconds(*pttl_ms);
  }
  return owner;
}

TokenRead RedisStrategy::read(std::string_view token) {
  const auto key = key_for(token);
  if (!key) return std::optional<TokenOwner>();
  auto value = commands_->get(*key);
  if (!value) return value.error();
  if (!value.value()) return std::optional<TokenOwner>();
  return owner_from(*value.value(), std::nullopt, std::chrono::system_clock::now());
}

Result<std::string, StrategyError> RedisStrategy::write(const User& user) {
  std::string token = new_opaque_token();
  // Upstream passes ex=lifetime_seconds; a null (or, here, 0) lifetime writes no expiry.
  std::optional<int> expire;
  if (lifetime_seconds_.value_or(0) > 0) expire = lifetime_seconds_;
  const auto key = key_prefix_ + token;
  const auto stored = commands_->set(key, user.id, expire);
  if (!stored) return stored.error();
  return token;
}

Result<bool, StrategyError> RedisStrategy::destroy(std::string_view token, const User&) {
  // The token that authenticated may be another backend's (a JWT): it cannot be a key here.
  const auto key = key_for(token);
  if (!key) return false;
  return commands_->del(*key);
}

StrategyPtr make_redis_strategy(const config::StrategyConfig& config) {
  auto endpoint = parse_redis_url(config.redis_url);
  if (!endpoint) throw std::runtime_error("redis strategy url: " + endpoint.error());
  auto commands = std::make_shared<RedisSyncClient>(endpoint.value(), kBlockingTimeout);
  return std::make_shared<RedisStrategy>(std::move(commands), std::move(endpoint).value(), config.key_prefix,
                                         config.lifetime_seconds);
}

}  // namespace doorman::authcore
