// The admin listener (server.admin_listen): /healthz, /readyz and /metrics over
// plain HTTP on its own small io_context thread, apart from the request path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "proxy/runtime.hpp"

namespace doorman::proxy {

class BlockingPool;

class AdminServer {
 public:
  // Opens the listener (throws std::runtime_error naming the address on failure).
  AdminServer(std::shared_ptr<Runtime> runtime, BlockingPool& blocking, const boost::asio::ip::tcp::endpoint& listen,
              std::vector<boost::asio::ip::tcp::endpoint> upstream);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void start();
  // Stops accepting and answering; joins the thread. Pending blocking work finishes on the pool.
  void stop();

 private:
  boost::asio::awaitable<void> accept_connections();
  boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<bool> upstream_reachable();

  // Declared first so it is destroyed last: the acceptor belongs to it.
  boost::asio::io_context context_;
  std::shared_ptr<Runtime> runtime_;
  BlockingPool& blocking_;
  std::vector<boost::asio::ip::tcp::endpoint> upstream_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace doorman::proxy
