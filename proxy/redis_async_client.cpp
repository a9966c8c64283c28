// RedisAsyncClient (see redis_async_client.hpp): connect with AUTH/SELECT
// pipelined ahead of the first commands, one write loop and one read loop per
// connection while there is something to write or read, one deadline watch
// while commands are in flight.
#include "proxy/redis_async_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <utility>

namespace doorman::proxy {

using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

RedisReply to_reply(const redisReply& raw) {
  RedisReply reply;
  switch (raw.type) {
    case REDIS_REPLY_STRING:
      reply.kind = RedisReply::Kind::string;
      break;
    case REDIS_REPLY_NIL:
      reply.kind = RedisReply::Kind::nil;
      break;
    case REDIS_REPLY_INTEGER:
      reply.kind = RedisReply::Kind::integer;
      break;
    case REDIS_REPLY_STATUS:
      reply.kind = RedisReply::Kind::status;
      break;
    case REDIS_REPLY_ERROR:
      reply.kind = RedisReply::Kind::error;
      break;
    default:
      reply.kind = RedisReply::Kind::other;
      break;
  }
  reply.integer = raw.integer;
  if (raw.str != nullptr &&
      (reply.kind == RedisReply::Kind::string || reply.kind == RedisReply::Kind::status ||
       reply.kind == RedisReply::Kind::error)) {
    reply.text.assign(raw.str, raw.len);
  }
  return reply;
}

}  // namespace

RedisAsyncClient::RedisAsyncClient(asio::any_io_executor executor, authcore::RedisEndpoint endpoint,
                                   RedisClientOptions options)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      options_(options),
      socket_(executor_),
      deadline_timer_(executor_),
      backoff_(options.backoff_initial) {}

RedisAsyncClient::~RedisAsyncClient() {
  error_code ignored;
  socket_.close(ignored);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisAsyncClient::append_command(std::string& out, const std::vector<std::string>& args) {
  // RESP: an array of bulk strings; binary-safe, so a key is sent exactly as given.
  out.push_back('*');
  out.append(std::to_string(args.size())).append("\r\n");
  for (const auto& arg : args) {
    out.push_back('$');
    out.append(std::to_string(arg.size())).append("\r\n").append(arg).append("\r\n");
  }
}

void RedisAsyncClient::submit(std::vector<std::string> args, std::unique_ptr<Waiter> waiter) {
  const auto now = Clock::now();
  if (state_ == State::connected && pending_.empty() && peer_closed_while_idle()) {
    // Redis restarted (or timed the idle connection out): not a failure of Redis, reconnect now.
    fail_connection();
    next_attempt_ = now;
  }
  if (state_ == State::disconnected) {
    if (now < next_attempt_) {
      waiter->complete(authcore::StrategyError::unavailable);  // backing off: fail fast
      return;
    }
    begin_connect();
  }
  append_command(output_, args);
  pending_.push_back(Pending{std::move(waiter), now + options_.command_timeout});
  if (state_ == State::connected) start_io();
  if (!watching_) {
    watching_ = true;
    asio::co_spawn(executor_, watch_deadlines(), asio::detached);
  }
}

void RedisAsyncClient::begin_connect() {
  state_ = State::connecting;
  ++generation_;
  ++connects_;
  healthy_ = false;
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  output_.clear();
  // The handshake a redis-py client does for the same URL, pipelined ahead of the commands.
  const auto deadline = Clock::now() + options_.command_timeout;
  if (!endpoint_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint_.username.empty()) auth.push_back(endpoint_.username);
    auth.push_back(endpoint_.password);
    append_command(output_, auth);
    pending_.push_back(Pending{nullptr, deadline});
  }
  if (endpoint_.db != 0) {
    append_command(output_, {"SELECT", std::to_string(endpoint_.db)});
    pending_.push_back(Pending{nullptr, deadline});
  }
  asio::co_spawn(executor_, connect(generation_), asio::detached);
}

asio::awaitable<void> RedisAsyncClient::connect(std::uint64_t generation) {
  socket_ = asio::generic::stream_protocol::socket(executor_);
  error_code ec = asio::error::host_not_found;
  if (!endpoint_.unix_path.empty()) {
    const asio::local::stream_protocol::endpoint target(endpoint_.unix_path);
    std::tie(ec) = co_await socket_.async_connect(asio::generic::stream_protocol::endpoint(target), nothrow);
  } else {
    std::vector<asio::ip::tcp::endpoint> targets;
    error_code parse_error;
    const auto address = asio::ip::make_address(endpoint_.host, parse_error);
    if (!parse_error) {
      targets.emplace_back(address, static_cast<unsigned short>(endpoint_.port));
    } else {
      // Asio resolves on its own helper thread: the worker never blocks in getaddrinfo.
      asio::ip::tcp::resolver resolver(executor_);
      auto [resolve_error, results] =
          co_await resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port), nothrow);
      if (generation != generation_) co_return;
      ec = resolve_error;
      for (const auto& entry : results) targets.push_back(entry.endpoint());
    }
    for (const auto& target : targets) {
      if (generation != generation_) co_return;
      error_code ignored;
      socket_.close(ignored);
      std::tie(ec) =
          co_await socket_.async_connect(asio::generic::stream_protocol::endpoint(target), nothrow);
      if (!ec) {
        socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        break;
      }
    }
  }
  // A deadline that passed meanwhile already failed this connection.
  if (generation != generation_) co_return;
  if (ec) {
    fail_connection();
    co_return;
  }
  state_ = State::connected;
  start_io();
}

void RedisAsyncClient::start_io() {
  if (!writing_ && !output_.empty()) {
    writing_ = true;
    asio::co_spawn(executor_, write_loop(generation_), asio::detached);
  }
  if (!reading_ && !pending_.empty()) {
    reading_ = true;
    asio::co_spawn(executor_, read_loop(generation_), asio::detached);
  }
}

asio::awaitable<void> RedisAsyncClient::write_loop(std::uint64_t generation) {
  while (!output_.empty()) {
    // Everything queued while the previous write was in flight goes out in one write.
    writing_buffer_.swap(output_);
    output_.clear();
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_buffer_), nothrow);
    if (generation != generation_) co_return;
    if (ec) {
      fail_connection();
      co_return;
    }
  }
  writing_ = false;
}

asio::awaitable<void> RedisAsyncClient::read_loop(std::uint64_t generation) {
  // Reads only while replies are owed, so an idle connection holds no pending read.
  while (!pending_.empty()) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(read_buffer_), nothrow);
    if (generation != generation_) co_return;
    if (ec || redisReaderFeed(reader_, read_buffer_.data(), n) != REDIS_OK) {
      fail_connection();
      co_return;
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
        fail_connection();
        co_return;
      }
      if (raw == nullptr) break;
      const auto reply = to_reply(*static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (pending_.empty()) {  // a reply nobody asked for: the stream is out of step
        fail_connection();
        co_return;
      }
      Pending done = std::move(pending_.front());
      pending_.pop_front();
      if (!done.waiter) {
        // AUTH or SELECT refused: this connection cannot serve anything.
        if (reply.kind == RedisReply::Kind::error) {
          fail_connection();
          co_return;
        }
        continue;
      }
      healthy_ = true;
      backoff_ = options_.backoff_initial;
      done.waiter->complete(reply);
    }
  }
  reading_ = false;
  // Nothing in flight: let the deadline watch end now rather than at its next expiry.
  deadline_timer_.cancel();
}

asio::awaitable<void> RedisAsyncClient::watch_deadlines() {
  while (!pending_.empty()) {
    deadline_timer_.expires_at(pending_.front().deadline);
    co_await deadline_timer_.async_wait(nothrow);
    // The oldest command (or the connect ahead of it) took too long: Redis is hung or unreachable.
    if (!pending_.empty() && pending_.front().deadline <= Clock::now()) fail_connection();
  }
  watching_ = false;
}

void RedisAsyncClient::fail_connection() {
  const bool was_healthy = healthy_;
  state_ = State::disconnected;
  ++generation_;
  healthy_ = false;
  writing_ = false;
  reading_ = false;
  error_code ignored;
  socket_.close(ignored);
  output_.clear();
  const auto now = Clock::now();
  if (was_healthy) {
    // A connection that worked and broke: try again at once (one failure is not an outage).
    next_attempt_ = now;
  } else {
    next_attempt_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  }
  auto failed = std::move(pending_);
  pending_.clear();
  deadline_timer_.cancel();
  for (auto& entry : failed) {
    if (entry.waiter) entry.waiter->complete(authcore::StrategyError::unavailable);
  }
}

bool RedisAsyncClient::peer_closed_while_idle() {
  char byte;
  const auto n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // EOF: the server closed it
  if (n > 0) return true;   // bytes nobody asked for: out of step, start afresh
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

RedisGetResult RedisAsyncClient::value_of(const RedisResult& result) {
  if (!result) return result.error();
  const RedisReply& reply = result.value();
  switch (reply.kind) {
    case RedisReply::Kind::string:
      return std::optional<std::string>(reply.text);
    case RedisReply::Kind::nil:
      return std::optional<std::string>();
    case RedisReply::Kind::error:
      // A key of another type names no token; other errors (LOADING, NOAUTH...) are Redis failing.
      if (reply.text.rfind("WRONGTYPE", 0) == 0) return std::optional<std::string>();
      return authcore::StrategyError::unavailable;
    default:
      return authcore::StrategyError::unavailable;
  }
}

asio::awaitable<RedisGetResult> RedisAsyncClient::get(const std::string& key) {
  std::vector<std::string> args{"GET", key};
  co_return value_of(co_await async_command(std::move(args), asio::use_awaitable));
}

asio::awaitable<RedisGetWithTtlResult> RedisAsyncClient::get_with_ttl(const std::string& key) {
  // Replies come in command order and a failure fails every command in flight in
  // order, so the GET's slot is always filled when the PTTL completes.
  auto get_result = std::make_shared<RedisResult>(authcore::StrategyError::unavailable);
  submit({"GET", key}, std::make_unique<SlotWaiter>(get_result));
  std::vector<std::string> pttl{"PTTL", key};
  const RedisResult ttl = co_await async_command(std::move(pttl), asio::use_awaitable);
  const RedisGetResult value = value_of(*get_result);
  if (!value) co_return value.error();
  if (!value.value()) co_return std::optional<RedisValueWithTtl>();
  if (!ttl || ttl.value().kind != RedisReply::Kind::integer) co_return authcore::StrategyError::unavailable;
  co_return std::optional<RedisValueWithTtl>(
      RedisValueWithTtl{std::move(*value.value()), ttl.value().integer});
}

}  // namespace doorman::proxy
