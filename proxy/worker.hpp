// One worker: an io_context on its own thread with its own SO_REUSEPORT acceptor,
// upstream pool, identity header cache and list of live sessions. A ticker
// enforces session deadlines (one clock check per session a few times a second,
// instead of a timer per I/O) and bounds the drain at shutdown.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/blocking_pool.hpp"
#include "proxy/identity_header_cache.hpp"
#include "proxy/relay.hpp"
#include "proxy/runtime.hpp"
#include "proxy/upstream_pool.hpp"

namespace doorman::proxy {

using SessionHook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// What the worker needs from a live session. A session unlinks itself when destroyed.
class SessionBase : public SessionHook {
 public:
  Deadline deadline_;
  // The deadline passed: give up the operation in flight.
  virtual void expire() = 0;
  // The server is stopping: close now if idle, else after the current response.
  virtual void drain() = 0;
  // The drain bound passed: close everything now.
  virtual void abort() = 0;

 protected:
  ~SessionBase() = default;
};

// Config values a session reads per request, converted once.
struct SessionSettings {
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1048576;
  Clock::duration header_timeout;
  Clock::duration idle_timeout;
  Clock::duration connect_timeout;
  Clock::duration response_timeout;
  bool access_log = true;
  std::string upstream_host;              // Host for a request that sent none
  std::vector<std::string> cookie_names;  // doorman's cookies (forward_credentials: false)
};

class Worker {
 public:
  // Opens the acceptor (throws std::runtime_error naming the address on failure).
  Worker(int index, std::shared_ptr<Runtime> runtime, BlockingPools pools,
         const asio::ip::tcp::endpoint& listen, std::vector<asio::ip::tcp::endpoint> upstream);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Thread-safe: stop accepting, let sessions finish within `bound`, then close them.
  void stop(Clock::duration bound);
  // Waits for the thread; after it, the io_context has no work left.
  void join();

  // For sessions, on this worker's thread only.
  asio::io_context& context() { return context_; }
  Runtime& runtime() { return *runtime_; }
  BlockingPools& pools() { return pools_; }
  UpstreamPool& upstream() { return upstream_; }
  IdentityHeaderCache& identity_headers() { return identity_headers_; }
  const SessionSettings& settings() const { return settings_; }
  // The current request policies. One relaxed load per call; the snapshot is
  // copied only after a reload published a new one.
  const PolicySnapshotPtr& policies() {
    if (runtime_->policies->generation() != policies_generation_) refresh_policies();
    return policies_;
  }
  bool draining() const { return draining_; }
  void add_session(SessionBase& session) { sessions_.push_back(session); }
  int index() const { return index_; }
  // Buffers one access log line (ending in '\n'); flushed by the ticker and at exit.
  void log_line(std::string_view line);

 private:
  asio::awaitable<void> accept_connections();
  asio::awaitable<void> tick();
  void begin_drain(Clock::duration bound);
  void flush_log();
  void refresh_policies();

  // Declared first so it is destroyed last: sockets below belong to it.
  asio::io_context context_;
  int index_;
  std::shared_ptr<Runtime> runtime_;
  BlockingPools pools_;
  SessionSettings settings_;
  asio::ip::tcp::acceptor acceptor_;
  UpstreamPool upstream_;
  IdentityHeaderCache identity_headers_;
  PolicySnapshotPtr policies_;
  std::uint64_t policies_generation_ = 0;
  asio::steady_timer ticker_;
  boost::intrusive::list<SessionBase, boost::intrusive::constant_time_size<false>> sessions_;
  bool draining_ = false;
  Clock::time_point drain_deadline_ = Clock::time_point::max();
  std::string log_buffer_;
  std::thread thread_;
};

}  // namespace doorman::proxy
