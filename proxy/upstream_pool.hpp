// One worker's keep-alive connections to the upstream (upstream.max_idle_per_worker):
// idle connections are reused newest first; a fresh one is opened when none is left.
// Single-threaded by design: each worker owns its pool, so no locks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "config/config.hpp"

namespace doorman::proxy {

namespace asio = boost::asio;

// A connection and the read buffer that belongs to it (bytes past one response
// stay with the connection, not with the client that happened to use it).
struct UpstreamConnection {
  explicit UpstreamConnection(const asio::any_io_executor& executor) : socket(executor) {}
  asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  std::uint64_t requests = 0;  // served on this connection so far
};

using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

class UpstreamPool {
 public:
  UpstreamPool(asio::any_io_executor executor, std::vector<asio::ip::tcp::endpoint> endpoints,
               std::size_t max_idle, std::chrono::steady_clock::duration max_idle_age);

  // The newest idle connection young enough to trust, or nullptr. Older ones are closed.
  UpstreamConnectionPtr take_idle(std::chrono::steady_clock::time_point now);
  // A new, unconnected connection on this pool's executor.
  UpstreamConnectionPtr make_connection() const;
  // Connects `connection` to the first endpoint that answers (the caller bounds it in time).
  asio::awaitable<boost::system::error_code> connect(UpstreamConnection& connection) const;
  // Keeps a connection that finished a response cleanly; closes it when the pool is full.
  void give_back(UpstreamConnectionPtr connection, std::chrono::steady_clock::time_point now);
  void close_idle();

  std::size_t idle_count() const { return idle_.size(); }
  const std::vector<asio::ip::tcp::endpoint>& endpoints() const { return endpoints_; }

 private:
  asio::any_io_executor executor_;
  std::vector<asio::ip::tcp::endpoint> endpoints_;
  std::size_t max_idle_;
  std::chrono::steady_clock::duration max_idle_age_;
  std::vector<UpstreamConnectionPtr> idle_;  // oldest first
};

// True when a kernel-side check says an idle connection was closed by its peer
// (or has unexpected bytes waiting): such a connection must not carry a request.
bool peer_closed(asio::ip::tcp::socket& socket);

}  // namespace doorman::proxy
