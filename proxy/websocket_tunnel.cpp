// The WebSocket tunnel (see websocket_tunnel.hpp).
#include "proxy/websocket_tunnel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>

namespace doorman::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunk = 16 * 1024;

// Copies `from` to `to` until `from` ends or either side fails.
asio::awaitable<void> copy_stream(tcp::socket& from, boost::beast::flat_buffer& pending, tcp::socket& to) {
  if (pending.size() != 0) {
    auto [ec, n] = co_await asio::async_write(to, pending.data(), nothrow);
    pending.consume(pending.size());
    if (ec) co_return;
  }
  auto chunk = std::make_unique<char[]>(kChunk);
  for (;;) {
    auto [read_ec, n] = co_await from.async_read_some(asio::buffer(chunk.get(), kChunk), nothrow);
    if (n != 0) {
      auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(chunk.get(), n), nothrow);
      if (write_ec) co_return;
    }
    if (read_ec) co_return;
  }
}

}  // namespace

asio::awaitable<void> run_websocket_tunnel(tcp::socket& client, boost::beast::flat_buffer& client_buffer,
                                           tcp::socket& upstream,
                                           boost::beast::flat_buffer& upstream_buffer) {
  using namespace asio::experimental::awaitable_operators;
  // Either direction ending ends the tunnel: WebSocket close frames travel before TCP closes.
  co_await (copy_stream(client, client_buffer, upstream) || copy_stream(upstream, upstream_buffer, client));
}

}  // namespace doorman::proxy
