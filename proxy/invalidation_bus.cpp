// InvalidationBus (see invalidation_bus.hpp): hiredis blocking connections,
// one for PUBLISH under a mutex, one for the retry thread that delivers what
// failed, and one per subscribed session on the subscriber thread. A
// subscriber that (re)subscribes clears the whole cache, because
// announcements sent while it was away are lost for good.
#include "proxy/invalidation_bus.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstddef>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <utility>
#include <vector>

#include "config/hex.hpp"

namespace doorman::proxy {
namespace {

// A change waits at most this long on an unreachable Redis (connect, then PUBLISH).
constexpr auto kPublishTimeout = std::chrono::milliseconds(500);
// Announcements kept while Redis is away; beyond this, one "forget everyone" replaces them.
constexpr std::size_t kMaxQueued = 10000;
constexpr auto kMaxRetryBackoff = std::chrono::milliseconds(1000);
constexpr auto kSubscribeTimeout = std::chrono::milliseconds(2000);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Sends one command with binary-safe arguments and reads its reply; null on an I/O error.
ReplyPtr command(redisContext& context, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(&context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (context.err != 0) return nullptr;
  return reply;
}

std::string_view text_of(const redisReply& reply) {
  return reply.str != nullptr ? std::string_view(reply.str, reply.len) : std::string_view();
}

void log_line(const std::string& text) { std::cerr << "doorman: invalidation bus: " << text << std::endl; }

}  // namespace

void InvalidationBus::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

InvalidationBus::InvalidationBus(authcore::RedisEndpoint endpoint, std::shared_ptr<authcore::UserCache> cache,
                                 std::shared_ptr<authcore::TokenCache> tokens)
    : endpoint_(std::move(endpoint)), cache_(std::move(cache)), tokens_(std::move(tokens)) {}

InvalidationBus::~InvalidationBus() { stop(); }

InvalidationBus::ContextPtr InvalidationBus::connect(std::chrono::milliseconds timeout,
                                                     std::string& error) const {
  const timeval tv = to_timeval(timeout);
  ContextPtr context(endpoint_.unix_path.empty()
                         ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv)
                         : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), tv));
  if (!context) {
    error = "out of memory";
    return nullptr;
  }
  if (context->err != 0 || redisSetTimeout(context.get(), tv) != REDIS_OK) {
    error = context->errstr;
    return nullptr;
  }
  if (!endpoint_.password.empty()) {
    // The AUTH a redis-py client sends for the same URL. No SELECT: channels span databases.
    ReplyPtr reply = endpoint_.username.empty()
                         ? command(*context, {"AUTH", endpoint_.password})
                         : command(*context, {"AUTH", endpoint_.username, endpoint_.password});
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      error = reply ? std::string(text_of(*reply)) : std::string(context->errstr);
      return nullptr;
    }
  }
  return context;
}

bool InvalidationBus::send(redisContext& context, std::string_view message) {
  ReplyPtr reply = command(context, {"PUBLISH", kInvalidationChannel, message});
  return reply && reply->type == REDIS_REPLY_INTEGER;
}

std::string token_revoked_message(const authcore::TokenCache::Digest& digest) {
  std::string message(kTokenRevokedPrefix);
  message.append(config::lower_hex(digest.data(), digest.size()));
  return message;
}

std::optional<authcore::TokenCache::Digest> revoked_token_digest(std::string_view message) {
  authcore::TokenCache::Digest digest{};
  if (!message.starts_with(kTokenRevokedPrefix)) return std::nullopt;
  message.remove_prefix(kTokenRevokedPrefix.size());
  if (message.size() != digest.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = config::hex_value(message[2 * i]), low = config::hex_value(message[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return digest;
}

void InvalidationBus::publish(std::string_view user_id) { announce(user_id); }

void InvalidationBus::publish_token_revoked(const authcore::TokenCache::Digest& digest) {
  announce(token_revoked_message(digest));
}

void InvalidationBus::announce(std::string_view message) {
  std::lock_guard lock(publish_mutex_);
  if (!failing_) {
    // A kept connection may have died with a Redis restart: that deserves one fresh try.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = publish_context_ != nullptr;
      std::string error;
      if (!publish_context_) publish_context_ = connect(kPublishTimeout, error);
      if (publish_context_ && send(*publish_context_, message)) return;
      publish_context_.reset();
      if (!reused) {
        log_line("cannot publish on " + endpoint_.describe() + (error.empty() ? "" : " (" + error + ")") +
                 "; queueing announcements until Redis is back");
        break;
      }
    }
    failing_ = true;
  }
  if (queued_.size() < kMaxQueued) {
    queued_.emplace_back(message);
  } else {
    overflowed_ = true;
  }
  retry_wake_.notify_one();
}

void InvalidationBus::run_retries() {
  auto backoff = kFirstBackoff;
  ContextPtr context;
  std::unique_lock lock(publish_mutex_);
  for (;;) {
    retry_wake_.wait(lock, [this] { return stopping_retries_ || failing_; });
    if (stopping_retries_) return;
    // The I/O happens unlocked, so changes meanwhile only wait to append to the queue.
    std::deque<std::string> batch;
    batch.swap(queued_);
    if (overflowed_) batch.assign(1, std::string(kInvalidateEveryone));
    overflowed_ = false;
    lock.unlock();
    std::string error;
    if (!context) context = connect(kPublishTimeout, error);
    std::size_t sent = 0;
    while (context && sent < batch.size() && send(*context, batch[sent])) ++sent;
    if (context && sent < batch.size()) context.reset();
    lock.lock();
    if (sent == batch.size()) {
      backoff = kFirstBackoff;
      if (queued_.empty() && !overflowed_) {
        // Delivered everything missed: changes publish directly again, on this connection.
        publish_context_ = std::move(context);
        failing_ = false;
        log_line("publishing on " + endpoint_.describe() + " again");
      }
      continue;
    }
    // Put the unsent back in front, in order, and wait before the next try.
    queued_.insert(queued_.begin(),
                   std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(sent)),
                   std::make_move_iterator(batch.end()));
    if (queued_.size() > kMaxQueued) {
      queued_.clear();
      overflowed_ = true;
    }
    if (retry_wake_.wait_for(lock, backoff, [this] { return stopping_retries_; })) return;
    backoff = std::min(backoff * 2, kMaxRetryBackoff);
  }
}

void InvalidationBus::start() {
  std::lock_guard lock(mutex_);
  if (subscriber_thread_.joinable() || stopping_) return;
  subscriber_thread_ = std::thread([this] { run_subscriber(); });
  retry_thread_ = std::thread([this] { run_retries(); });
}

void InvalidationBus::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // Ends a blocked read in listen(); the fd stays open until that thread frees it.
    if (listening_fd_ >= 0) ::shutdown(listening_fd_, SHUT_RDWR);
  }
  wake_.notify_all();
  {
    std::lock_guard lock(publish_mutex_);
    stopping_retries_ = true;
  }
  retry_wake_.notify_all();
  if (subscriber_thread_.joinable()) subscriber_thread_.join();
  if (retry_thread_.joinable()) retry_thread_.join();
}

std::uint64_t InvalidationBus::subscriptions() const {
  std::lock_guard lock(mutex_);
  return subscriptions_;
}

void InvalidationBus::run_subscriber() {
  auto backoff = kFirstBackoff;
  bool failing = false;  // log an outage once, not once per retry
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    std::string error;
    ContextPtr context = connect(kSubscribeTimeout, error);
    if (context) {
      ReplyPtr reply = command(*context, {"SUBSCRIBE", kInvalidationChannel});
      const bool subscribed = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
                              text_of(*reply->element[0]) == "subscribe";
      // Announcements come whenever another replica changes a user: wait for them without a deadline.
      if (subscribed && redisSetTimeout(context.get(), timeval{}) == REDIS_OK) {
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return;
          listening_fd_ = context->fd;
          ++subscriptions_;
        }
        redisEnableKeepAlive(context.get());  // a vanished Redis host is noticed, not waited on forever
        // Whatever was announced before this subscription is unknown: start from empty caches.
        apply(kInvalidateEveryone);
        log_line(std::string(failing ? "subscribed again" : "subscribed") + " on " + endpoint_.describe());
        failing = false;
        backoff = kFirstBackoff;
        listen(*context);
        {
          std::lock_guard lock(mutex_);
          listening_fd_ = -1;
          if (stopping_) return;
        }
        error = context->errstr;
      } else {
        error = reply && reply->type == REDIS_REPLY_ERROR ? std::string(text_of(*reply))
                                                          : std::string(context->errstr);
      }
    }
    if (!failing) {
      log_line("not subscribed on " + endpoint_.describe() + " (" +
               (error.empty() ? "connection lost" : error) +
               "); retrying, other replicas' changes show within users.cache_ttl_ms meanwhile");
    }
    failing = true;
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, backoff, [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void InvalidationBus::listen(redisContext& context) {
  for (;;) {
    void* raw = nullptr;
    if (redisGetReply(&context, &raw) != REDIS_OK) return;
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) continue;
    if (text_of(*reply->element[0]) != "message") continue;
    const redisReply& payload = *reply->element[2];
    if (payload.type != REDIS_REPLY_STRING) continue;
    apply(text_of(payload));
  }
}

void InvalidationBus::apply(std::string_view message) {
  if (message == kInvalidateEveryone) {
    if (cache_) cache_->clear();
    if (tokens_) tokens_->clear();
  } else if (const auto digest = revoked_token_digest(message)) {
    if (tokens_) tokens_->forget(*digest);
  } else if (cache_) {
    cache_->invalidate(message);
  }
}

std::optional<authcore::RedisEndpoint> invalidation_endpoint(const config::Config& config) {
  std::string key = "users.invalidation_redis_url";
  std::optional<std::string> url = config.users.invalidation_redis_url;
  if (!url) {
    for (std::size_t i = 0; i < config.auth.backends.size() && !url; ++i) {
      if (config.auth.backends[i].strategy.type != config::StrategyKind::redis) continue;
      url = config.auth.backends[i].strategy.redis_url;
      key = "auth.backends[" + std::to_string(i) + "].strategy.url";
    }
  }
  if (!url) return std::nullopt;
  auto endpoint = authcore::parse_redis_url(*url);
  if (!endpoint) throw std::runtime_error(key + ": " + endpoint.error());
  return std::move(endpoint).value();
}

}  // namespace doorman::proxy
