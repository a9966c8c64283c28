// Worker threads (see worker.hpp).
#include "proxy/worker.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <stdexcept>

#include "proxy/blocking_pool.hpp"
#include "proxy/client_session.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/heap_reserve.hpp"
#include "proxy/listen_address.hpp"

namespace doorman::proxy {

using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
// Deadline precision; also how long an access log line may wait in the buffer.
constexpr auto kTickInterval = std::chrono::milliseconds(100);
// Writes to a pipe up to PIPE_BUF bytes are atomic: lines of different workers never interleave.
constexpr std::size_t kLogFlushBytes = 4096;
// Idle upstream connections older than this are not trusted: servers commonly
// close keep-alive connections after 60-75 s (nginx 75, gunicorn/uvicorn 5).
constexpr auto kMaxUpstreamIdleAge = std::chrono::seconds(4);

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

SessionSettings make_settings(const Runtime& runtime) {
  const auto& config = *runtime.config;
  SessionSettings s;
  s.max_header_bytes = config.server.max_header_bytes;
  s.max_body_bytes = config.server.max_body_bytes;
  s.header_timeout = std::chrono::seconds(config.server.header_timeout_seconds);
  s.idle_timeout = std::chrono::seconds(config.server.idle_timeout_seconds);
  s.connect_timeout = std::chrono::milliseconds(config.upstream.connect_timeout_ms);
  s.response_timeout = std::chrono::seconds(config.upstream.response_timeout_seconds);
  s.access_log = config.server.access_log;
  const bool v6 = config.upstream.host.find(':') != std::string::npos;
  s.upstream_host = (v6 ? "[" + config.upstream.host + "]" : config.upstream.host);
  if (config.upstream.port != 80) s.upstream_host += ":" + std::to_string(config.upstream.port);
  if (runtime.authenticator) {
    for (const auto& backend : runtime.authenticator->backends()) {
      if (!backend.transport) continue;
      if (auto name = backend.transport->cookie_name()) s.cookie_names.push_back(*name);
    }
  }
  return s;
}

}  // namespace

Worker::Worker(int index, std::shared_ptr<Runtime> runtime, BlockingPools pools, const tcp::endpoint& listen,
               std::vector<tcp::endpoint> upstream)
    : context_(1),
      index_(index),
      runtime_(std::move(runtime)),
      pools_(pools),
      settings_(make_settings(*runtime_)),
      acceptor_(context_),
      upstream_(context_.get_executor(), std::move(upstream),
                static_cast<std::size_t>(std::max(0, runtime_->config->upstream.max_idle_per_worker)),
                kMaxUpstreamIdleAge),
      ticker_(context_) {
  error_code ec;
  acceptor_.open(listen.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(reuse_port(true), ec);
  if (!ec) acceptor_.bind(listen, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + format_endpoint(listen) + ": " + ec.message());
  policies_ = runtime_->policies->load(policies_generation_);
}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
}

void Worker::refresh_policies() {
  policies_ = runtime_->policies->load(policies_generation_);
  // The cache knows its policy by address only; a freed policy's address may come back.
  identity_headers_.clear();
}

void Worker::start() {
  asio::co_spawn(context_, accept_connections(), asio::detached);
  asio::co_spawn(context_, tick(), asio::detached);
  thread_ = std::thread([this] {
    reserve_thread_heap();
    try {
      run_event_loop(context_, std::chrono::microseconds(runtime_->config->server.busy_poll_us));
    } catch (const std::exception& e) {
      std::cerr << "doorman: worker " << index_ << " stopped: " << e.what() << std::endl;
    }
    flush_log();
  });
}

void Worker::stop(Clock::duration bound) {
  asio::post(context_, [this, bound] { begin_drain(bound); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> Worker::accept_connections() {
  while (!draining_) {
    auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
    if (draining_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of descriptors or a connection reset before accept: wait a little, keep serving.
      std::cerr << "doorman: accept failed: " << ec.message() << std::endl;
      asio::steady_timer pause(context_, std::chrono::milliseconds(50));
      co_await pause.async_wait(nothrow);
      continue;
    }
    asio::co_spawn(context_, serve_client(*this, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Worker::tick() {
  for (;;) {
    ticker_.expires_after(kTickInterval);
    co_await ticker_.async_wait(nothrow);
    const auto now = Clock::now();
    const bool aborting = draining_ && now >= drain_deadline_;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      // expire()/abort() only close sockets; sessions end later, on their own coroutine.
      auto& session = *it++;
      if (aborting) {
        session.abort();
      } else if (session.deadline_.at <= now) {
        session.deadline_.clear();
        session.expire();
      }
    }
    flush_log();
    if (draining_ && sessions_.empty()) break;
  }
  upstream_.close_idle();
}

void Worker::begin_drain(Clock::duration bound) {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = Clock::now() + bound;
  error_code ignored;
  acceptor_.close(ignored);
  for (auto& session : sessions_) session.drain();
  upstream_.close_idle();
}

void Worker::log_line(std::string_view line) {
  if (log_buffer_.size() + line.size() > kLogFlushBytes) flush_log();
  log_buffer_.append(line);
}

void Worker::flush_log() {
  std::string_view rest = log_buffer_;
  while (!rest.empty()) {
    const auto n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  log_buffer_.clear();
}

}  // namespace doorman::proxy
