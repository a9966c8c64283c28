// The per-worker upstream connection pool (see upstream_pool.hpp).
#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include "proxy/metrics.hpp"

namespace doorman::proxy {

using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Reserved up front: Beast reads at most the free capacity (512 bytes for an empty
// buffer), so a small buffer splits an ordinary response into several reads and
// client writes. Larger growth is not kept while the connection sits idle.
constexpr std::size_t kBufferCapacity = 16 * 1024;

void close_quietly(tcp::socket& socket) {
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

UpstreamPool::UpstreamPool(asio::any_io_executor executor, std::vector<tcp::endpoint> endpoints,
                           std::size_t max_idle, std::chrono::steady_clock::duration max_idle_age)
    : executor_(std::move(executor)),
      endpoints_(std::move(endpoints)),
      max_idle_(max_idle),
      max_idle_age_(max_idle_age) {
  idle_.reserve(max_idle_);
}

UpstreamConnectionPtr UpstreamPool::take_idle(std::chrono::steady_clock::time_point now) {
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    metrics().add_upstream_pool_idle(-1);
    if (now - connection->idle_since <= max_idle_age_ && connection->socket.is_open()) return connection;
    close_quietly(connection->socket);
  }
  return nullptr;
}

UpstreamConnectionPtr UpstreamPool::make_connection() const {
  auto connection = std::make_unique<UpstreamConnection>(executor_);
  connection->buffer.reserve(kBufferCapacity);
  return connection;
}

asio::awaitable<error_code> UpstreamPool::connect(UpstreamConnection& connection) const {
  auto [ec, endpoint] =
      co_await asio::async_connect(connection.socket, endpoints_, asio::as_tuple(asio::use_awaitable));
  if (!ec) {
    error_code ignored;
    connection.socket.set_option(tcp::no_delay(true), ignored);
  }
  co_return ec;
}

void UpstreamPool::give_back(UpstreamConnectionPtr connection, std::chrono::steady_clock::time_point now) {
  if (!connection || !connection->socket.is_open()) return;
  // Bytes left after a complete response mean the upstream broke framing: do not reuse.
  if (connection->buffer.size() != 0 || max_idle_ == 0) {
    close_quietly(connection->socket);
    return;
  }
  if (connection->buffer.capacity() > kBufferCapacity) {
    connection->buffer = boost::beast::flat_buffer();
    connection->buffer.reserve(kBufferCapacity);
  }
  connection->idle_since = now;
  if (idle_.size() >= max_idle_) {
    // Full: drop the oldest, keep the one just used (its kernel state is warmest).
    close_quietly(idle_.front()->socket);
    idle_.erase(idle_.begin());
    metrics().add_upstream_pool_idle(-1);
  }
  idle_.push_back(std::move(connection));
  metrics().add_upstream_pool_idle(1);
}

void UpstreamPool::close_idle() {
  for (auto& connection : idle_) close_quietly(connection->socket);
  metrics().add_upstream_pool_idle(-static_cast<std::int64_t>(idle_.size()));
  idle_.clear();
}

bool peer_closed(tcp::socket& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // orderly shutdown by the peer
  if (n > 0) return true;   // unsolicited bytes: framing is off
  return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

}  // namespace doorman::proxy
