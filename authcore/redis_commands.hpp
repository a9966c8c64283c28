// The three Redis commands the Redis strategy needs, as a seam: the real
// implementation is RedisSyncClient (blocking, for the blocking pool); unit
// tests use a fake. The proxy's hot path reads through its own per-worker
// asynchronous connection instead (proxy/redis_async_client.hpp).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "authcore/result.hpp"
#include "authcore/strategy.hpp"

namespace doorman::authcore {

class RedisCommands {
 public:
  virtual ~RedisCommands() = default;
  // GET key: the value, nullopt when the key is absent or holds no string
  // (WRONGTYPE); unavailable when Redis is unreachable, slow or failing.
  virtual Result<std::optional<std::string>, StrategyError> get(const std::string& key) = 0;
  // SET key value [EX expire_seconds].
  virtual Result<bool, StrategyError> set(const std::string& key, const std::string& value,
                                          std::optional<int> expire_seconds) = 0;
  // DEL key: true when a key was removed.
  virtual Result<bool, StrategyError> del(const std::string& key) = 0;
};

using RedisCommandsPtr = std::shared_ptr<RedisCommands>;

}  // namespace doorman::authcore
