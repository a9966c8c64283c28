// The admin listener (server.admin_listen): /healthz, /readyz and /metrics over
// plain HTTP on its own small io_context thread, apart from the request path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "authcore/redis_sync_client.hpp"
#include "proxy/runtime.hpp"

namespace doorman::proxy {

class BlockingPool;

class AdminServer {
 public:
  // Opens the listener (throws std::runtime_error naming the address on failure).
  AdminServer(std::shared_ptr<Runtime> runtime, BlockingPool& blocking,
              const boost::asio::ip::tcp::endpoint& listen,
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
  // Every Redis of runtime_->redis_endpoints answers PING (true when there is none).
  boost::asio::awaitable<bool> redis_reachable();

  // Declared first so it is destroyed last: the acceptor belongs to it.
  boost::asio::io_context context_;
  std::shared_ptr<Runtime> runtime_;
  BlockingPool& blocking_;
  std::vector<boost::asio::ip::tcp::endpoint> upstream_;
  // One client per distinct Redis, its connection kept between checks; shared with the
  // blocking pool, where a ping may still run after stop().
  std::vector<std::shared_ptr<authcore::RedisSyncClient>> redis_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace doorman::proxy
