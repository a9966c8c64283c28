// One client connection: reads requests (bounded, with deadlines), answers auth
// routes through the blocking pool, authenticates and authorizes everything else,
// and forwards it over a pooled upstream connection, streaming bodies both ways.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace doorman::proxy {

class Worker;

// Serves `socket` until it closes; the session lives in this coroutine's frame.
boost::asio::awaitable<void> serve_client(Worker& worker, boost::asio::ip::tcp::socket socket);

}  // namespace doorman::proxy
