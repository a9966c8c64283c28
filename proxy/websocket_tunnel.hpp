// The byte tunnel after an upstream's 101 Switching Protocols: both directions are
// copied until either side ends; the upstream connection is never pooled again.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace doorman::proxy {

// Bytes already read past the HTTP headers (in either buffer) are delivered first.
boost::asio::awaitable<void> run_websocket_tunnel(boost::asio::ip::tcp::socket& client,
                                                  boost::beast::flat_buffer& client_buffer,
                                                  boost::asio::ip::tcp::socket& upstream,
                                                  boost::beast::flat_buffer& upstream_buffer);

}  // namespace doorman::proxy
