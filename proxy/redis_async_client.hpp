// RedisAsyncClient: one worker's connection to Redis, on the worker's own
// io_context (DESIGN §3: no blocking call on a worker, no thread per
// connection). Commands from every session of the worker share the one
// connection: each is appended to the output while earlier ones are in
// flight, so many waiting requests pipeline into few writes and reads, and
// replies are matched to commands in order. The RESP reply parser is
// hiredis' (redisReader); the socket, timeouts and reconnects are Asio's.
//
// Faults: a command that gets no reply within the command timeout, or whose
// connection fails, completes with StrategyError::unavailable (503 upstream of
// it). The connection is then dropped; the next command reconnects, at once
// after a connection that had worked, else after an exponential backoff
// (100 ms doubling to 2 s) during which commands fail fast. No timer or read
// is left pending while nothing is asked of Redis, so an idle client never
// keeps its io_context from finishing (a drained worker ends on its own);
// a connection the server closed while idle is noticed before it is reused.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authcore/redis_url.hpp"
#include "authcore/result.hpp"
#include "authcore/strategy.hpp"

struct redisReader;

namespace doorman::proxy {

namespace asio = boost::asio;

// One reply, as much of it as doorman uses (arrays are not needed: kind `other`).
struct RedisReply {
  enum class Kind { string, nil, integer, status, error, other };
  Kind kind = Kind::nil;
  std::string text;  // string, status or error text
  long long integer = 0;
};

using RedisResult = authcore::Result<RedisReply, authcore::StrategyError>;
using RedisGetResult = authcore::Result<std::optional<std::string>, authcore::StrategyError>;

// A string value and its key's PTTL (milliseconds left; -1: no expiry; -2: gone meanwhile).
struct RedisValueWithTtl {
  std::string value;
  long long pttl_ms = -2;
};
using RedisGetWithTtlResult = authcore::Result<std::optional<RedisValueWithTtl>, authcore::StrategyError>;

struct RedisClientOptions {
  std::chrono::steady_clock::duration command_timeout = std::chrono::milliseconds(1000);
  std::chrono::steady_clock::duration backoff_initial = std::chrono::milliseconds(100);
  std::chrono::steady_clock::duration backoff_max = std::chrono::milliseconds(2000);
};

class RedisAsyncClient {
 public:
  // Connects lazily, on the first command. Use from the executor's thread only.
  RedisAsyncClient(asio::any_io_executor executor, authcore::RedisEndpoint endpoint,
                   RedisClientOptions options = {});
  ~RedisAsyncClient();
  RedisAsyncClient(const RedisAsyncClient&) = delete;
  RedisAsyncClient& operator=(const RedisAsyncClient&) = delete;

  // Sends one command; completes with void(RedisResult) through the token's
  // executor (never inline). An error reply is a reply (kind error), not a failure.
  template <class CompletionToken>
  auto async_command(std::vector<std::string> args, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(RedisResult)>(
        [this](auto handler, std::vector<std::string> command) {
          using Handler = decltype(handler);
          submit(std::move(command), std::make_unique<HandlerWaiter<Handler>>(std::move(handler), executor_));
        },
        token, std::move(args));
  }

  // GET key for the Redis strategy: the value; nullopt when the key is absent
  // or holds no string (WRONGTYPE); unavailable when Redis is down, slow or failing.
  asio::awaitable<RedisGetResult> get(const std::string& key);
  // GET and PTTL of one key, pipelined (one round trip): what get() answers, with how long the key lives.
  asio::awaitable<RedisGetWithTtlResult> get_with_ttl(const std::string& key);

  bool connected() const { return state_ == State::connected; }
  // Connections opened so far (tests: reconnects, and that pipelining needs one).
  std::uint64_t connects() const { return connects_; }

 private:
  using Clock = std::chrono::steady_clock;

  // A command's completion, type-erased (one per command in flight).
  struct Waiter {
    virtual ~Waiter() = default;
    virtual void complete(RedisResult result) = 0;
  };
  template <class Handler>
  struct HandlerWaiter final : Waiter {
    HandlerWaiter(Handler h, asio::any_io_executor fallback)
        : handler(std::move(h)), fallback_executor(fallback) {}
    void complete(RedisResult result) override {
      // Posted, never run inline: the waiting coroutine must not resume inside the read loop.
      auto executor = asio::get_associated_executor(handler, fallback_executor);
      asio::post(executor,
                 [h = std::move(handler), r = std::move(result)]() mutable { std::move(h)(std::move(r)); });
    }
    Handler handler;
    asio::any_io_executor fallback_executor;
  };
  // Keeps a result for a command whose reply is read together with a later one's.
  struct SlotWaiter final : Waiter {
    explicit SlotWaiter(std::shared_ptr<RedisResult> s) : slot(std::move(s)) {}
    void complete(RedisResult result) override { *slot = std::move(result); }
    std::shared_ptr<RedisResult> slot;
  };
  struct Pending {
    std::unique_ptr<Waiter> waiter;  // null for the connection's own AUTH/SELECT
    Clock::time_point deadline;
  };
  enum class State { disconnected, connecting, connected };

  void submit(std::vector<std::string> args, std::unique_ptr<Waiter> waiter);
  void begin_connect();
  asio::awaitable<void> connect(std::uint64_t generation);
  asio::awaitable<void> write_loop(std::uint64_t generation);
  asio::awaitable<void> read_loop(std::uint64_t generation);
  asio::awaitable<void> watch_deadlines();
  void start_io();
  // Drops the connection and fails every command in flight.
  void fail_connection();
  bool peer_closed_while_idle();
  static void append_command(std::string& out, const std::vector<std::string>& args);
  // A GET reply as the Redis strategy reads it.
  static RedisGetResult value_of(const RedisResult& result);

  asio::any_io_executor executor_;
  authcore::RedisEndpoint endpoint_;
  RedisClientOptions options_;
  asio::generic::stream_protocol::socket socket_;
  asio::steady_timer deadline_timer_;
  redisReader* reader_ = nullptr;

  State state_ = State::disconnected;
  std::uint64_t generation_ = 0;  // bumped per connection: loops of an old one stop
  bool writing_ = false;
  bool reading_ = false;
  bool watching_ = false;
  bool healthy_ = false;  // this connection has answered at least once
  Clock::time_point next_attempt_{};
  Clock::duration backoff_;
  std::uint64_t connects_ = 0;

  std::deque<Pending> pending_;  // sent or queued, in reply order
  std::string output_;           // formatted commands not written yet
  std::string writing_buffer_;   // the write in flight
  std::array<char, 16 * 1024> read_buffer_{};
};

}  // namespace doorman::proxy
