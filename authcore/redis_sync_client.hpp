// RedisSyncClient: RedisCommands over hiredis' blocking API, for the blocking
// pool (login writes, logout deletes, the auth API's own authentication).
// A small pool of connections, each used by one thread at a time; a connection
// that fails is dropped, and the next call connects afresh, so the client
// recovers by itself when Redis comes back.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "authcore/redis_commands.hpp"
#include "authcore/redis_url.hpp"

struct redisContext;

namespace doorman::authcore {

class RedisSyncClient final : public RedisCommands {
 public:
  // `timeout` bounds the connect and every command; at most `max_idle`
  // connections are kept between calls. Connects lazily (never throws).
  RedisSyncClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout, std::size_t max_idle = 4);
  ~RedisSyncClient() override;
  RedisSyncClient(const RedisSyncClient&) = delete;
  RedisSyncClient& operator=(const RedisSyncClient&) = delete;

  Result<std::optional<std::string>, StrategyError> get(const std::string& key) override;
  Result<bool, StrategyError> set(const std::string& key, const std::string& value,
                                  std::optional<int> expire_seconds) override;
  Result<bool, StrategyError> del(const std::string& key) override;
  // PING: true when Redis answered PONG within the timeout (readiness checks).
  bool ping();

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
  struct Reply;

  // An idle connection (when allowed; `reused` says so), or a new one (AUTH and
  // SELECT done); null when Redis is unreachable.
  ContextPtr acquire(bool allow_idle, bool& reused);
  void release(ContextPtr context);
  // Runs one command; nullopt when Redis could not answer it.
  std::optional<Reply> run(const std::vector<std::string>& args);
  // One attempt; a connection that fails is dropped.
  std::optional<Reply> run_once(const std::vector<std::string>& args, bool allow_idle, bool& reused);

  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<ContextPtr> idle_;
};

}  // namespace doorman::authcore
