// RedisSyncClient: hiredis blocking connections with connect/command timeouts,
// pooled; any connection error drops the connection and answers unavailable.
#include "authcore/redis_sync_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

namespace doorman::authcore {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

struct RedisSyncClient::Reply {
  int type = REDIS_REPLY_NIL;
  std::string text;  // string, status or error text
  long long integer = 0;
};

void RedisSyncClient::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

RedisSyncClient::RedisSyncClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                                 std::size_t max_idle)
    : endpoint_(std::move(endpoint)), timeout_(timeout), max_idle_(max_idle) {}

RedisSyncClient::~RedisSyncClient() = default;

RedisSyncClient::ContextPtr RedisSyncClient::acquire(bool allow_idle, bool& reused) {
  reused = false;
  if (allow_idle) {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      reused = true;
      ContextPtr context = std::move(idle_.back());
      idle_.pop_back();
      return context;
    }
  }
  const timeval tv = to_timeval(timeout_);
  ContextPtr context(endpoint_.unix_path.empty()
                         ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv)
                         : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), tv));
  if (!context || context->err != 0) return nullptr;
  if (redisSetTimeout(context.get(), tv) != REDIS_OK) return nullptr;
  // The handshake a redis-py client does for the same URL.
  std::vector<std::vector<std::string>> handshake;
  if (!endpoint_.password.empty()) {
    if (endpoint_.username.empty()) {
      handshake.push_back({"AUTH", endpoint_.password});
    } else {
      handshake.push_back({"AUTH", endpoint_.username, endpoint_.password});
    }
  }
  if (endpoint_.db != 0) handshake.push_back({"SELECT", std::to_string(endpoint_.db)});
  for (const auto& args : handshake) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    const bool ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
    if (!ok) return nullptr;
  }
  return context;
}

void RedisSyncClient::release(ContextPtr context) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(context));
}

std::optional<RedisSyncClient::Reply> RedisSyncClient::run(const std::vector<std::string>& args) {
  // An idle connection may have died meanwhile (Redis restarted, or closed it as
  // idle): that is not an outage, so a failure on one is retried once on a fresh
  // connection. Every command used here (GET, SET, DEL, PING) may safely run twice.
  bool reused = false;
  if (auto reply = run_once(args, true, reused)) return reply;
  if (!reused) return std::nullopt;  // a fresh connection failed: Redis is down
  return run_once(args, false, reused);
}

std::optional<RedisSyncClient::Reply> RedisSyncClient::run_once(const std::vector<std::string>& args,
                                                                bool allow_idle, bool& reused) {
  ContextPtr context = acquire(allow_idle, reused);
  if (!context) return std::nullopt;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
  // No reply means an I/O error or timeout: the connection's state is unknown, drop it.
  if (raw == nullptr || context->err != 0) {
    if (raw != nullptr) freeReplyObject(raw);
    return std::nullopt;
  }
  Reply reply;
  reply.type = raw->type;
  reply.integer = raw->integer;
  if (raw->str != nullptr) reply.text.assign(raw->str, raw->len);
  freeReplyObject(raw);
  release(std::move(context));
  return reply;
}

Result<std::optional<std::string>, StrategyError> RedisSyncClient::get(const std::string& key) {
  const auto reply = run({"GET", key});
  if (!reply) return StrategyError::unavailable;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      return std::optional<std::string>(reply->text);
    case REDIS_REPLY_NIL:
      return std::optional<std::string>();
    case REDIS_REPLY_ERROR:
      // A key of another type names no token; any other error (LOADING, NOAUTH...) is Redis failing.
      if (reply->text.rfind("WRONGTYPE", 0) == 0) return std::optional<std::string>();
      return StrategyError::unavailable;
    default:
      return StrategyError::unavailable;
  }
}

Result<bool, StrategyError> RedisSyncClient::set(const std::string& key, const std::string& value,
                                                 std::optional<int> expire_seconds) {
  std::vector<std::string> args{"SET", key, value};
  if (expire_seconds) {
    args.emplace_back("EX");
    args.push_back(std::to_string(*expire_seconds));
  }
  const auto reply = run(args);
  if (!reply || reply->type == REDIS_REPLY_ERROR) return StrategyError::unavailable;
  return true;
}

Result<bool, StrategyError> RedisSyncClient::del(const std::string& key) {
  const auto reply = run({"DEL", key});
  if (!reply || reply->type != REDIS_REPLY_INTEGER) return StrategyError::unavailable;
  return reply->integer > 0;
}

bool RedisSyncClient::ping() {
  // An error reply (LOADING, NOAUTH...) is a Redis that cannot serve tokens: not ready.
  const auto reply = run({"PING"});
  return reply && reply->type == REDIS_REPLY_STATUS && reply->text == "PONG";
}

}  // namespace doorman::authcore
