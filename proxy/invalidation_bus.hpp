// Keeps the user and token caches of several doorman replicas coherent over
// Redis pub/sub: every change this process commits is PUBLISHed on one channel
// (the id of the changed user, or `token:` and the hex SHA-256 of a token
// logged out), and one dedicated thread SUBSCRIBEs to that channel and drops
// each announced user or token from the local caches. Announcements that fail
// wait in a queue for Redis to come back. Without a bus (no Redis configured)
// a replica sees another's change once its cached copy expires
// (users.cache_ttl_ms).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "authcore/redis_url.hpp"
#include "authcore/token_cache.hpp"
#include "authcore/user_cache.hpp"
#include "authcore/user_invalidation.hpp"
#include "config/config.hpp"

struct redisContext;

namespace doorman::proxy {

// Sent instead of a user id to make every replica forget all its cached users
// (when more announcements were missed than could be kept).
inline constexpr std::string_view kInvalidateEveryone = "*";
// Every replica publishes and listens here. Redis pub/sub channels ignore the
// database number, so replicas of one deployment share it whatever `/db` says.
inline constexpr std::string_view kInvalidationChannel = "doorman:user-invalidated";
// Precedes the lower-case hex SHA-256 of a logged-out token.
inline constexpr std::string_view kTokenRevokedPrefix = "token:";

// The message announcing a logged-out token, and the digest such a message
// names (nullopt for any other message).
std::string token_revoked_message(const authcore::TokenCache::Digest& digest);
std::optional<authcore::TokenCache::Digest> revoked_token_digest(std::string_view message);

class InvalidationBus final : public authcore::InvalidationPublisher {
 public:
  // The caches may be null for a bus that only publishes (the CLI), which is never start()ed.
  InvalidationBus(authcore::RedisEndpoint endpoint, std::shared_ptr<authcore::UserCache> cache,
                  std::shared_ptr<authcore::TokenCache> tokens = nullptr);
  ~InvalidationBus() override;
  InvalidationBus(const InvalidationBus&) = delete;
  InvalidationBus& operator=(const InvalidationBus&) = delete;

  // PUBLISH on a short-timeout connection, before the change is answered. When
  // Redis fails, the id is queued instead and a retry thread announces the
  // queue once Redis is back; meanwhile changes only queue, so an outage costs
  // one timeout, not one per change. Never throws, never fails the change.
  void publish(std::string_view user_id) override;
  void publish_token_revoked(const authcore::TokenCache::Digest& digest) override;

  // Starts the subscriber and retry threads (connect, subscribe, reconnect with backoff).
  void start();
  // Ends both threads (still-queued announcements are dropped); idempotent.
  void stop();

  // Times the subscriber has (re)subscribed; each one cleared both caches.
  std::uint64_t subscriptions() const;

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

  // A connected, authenticated context, or null (reason in `error`).
  ContextPtr connect(std::chrono::milliseconds timeout, std::string& error) const;
  void run_subscriber();
  void run_retries();
  // Sends one PUBLISH on `context`; false when the connection failed.
  static bool send(redisContext& context, std::string_view message);
  // One subscribed session: returns when the connection fails or stop() shuts it.
  void listen(redisContext& context);

  // Announces `message` (a user id, "*" or a revoked token), queueing it while Redis fails.
  void announce(std::string_view message);
  // Applies one announcement to the local caches.
  void apply(std::string_view message);

  authcore::RedisEndpoint endpoint_;
  std::shared_ptr<authcore::UserCache> cache_;
  std::shared_ptr<authcore::TokenCache> tokens_;

  // Publisher: one connection, used by one blocking-pool thread at a time
  // (changes are rare). While `failing_`, ids wait in `queued_` for the retry
  // thread; past kMaxQueued they collapse into one "forget everyone" message.
  std::mutex publish_mutex_;
  std::condition_variable retry_wake_;
  ContextPtr publish_context_;
  bool failing_ = false;
  std::deque<std::string> queued_;
  bool overflowed_ = false;
  bool stopping_retries_ = false;
  std::thread retry_thread_;

  // Subscriber: stop() wakes the backoff sleep and shuts the socket of a blocked read.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int listening_fd_ = -1;
  std::uint64_t subscriptions_ = 0;
  std::thread subscriber_thread_;
};

// The Redis replicas announce changes on: users.invalidation_redis_url, else
// the url of the first redis strategy, else none. Throws std::runtime_error
// (startup) when the URL does not parse.
std::optional<authcore::RedisEndpoint> invalidation_endpoint(const config::Config& config);

}  // namespace doorman::proxy
