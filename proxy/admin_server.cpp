// The admin listener (see admin_server.hpp). Not the hot path: Beast's tcp_stream
// timeouts and string bodies keep it short.
#include "proxy/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "proxy/blocking_pool.hpp"
#include "proxy/listen_address.hpp"
#include "proxy/metrics.hpp"

namespace doorman::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kAdminTimeout = std::chrono::seconds(10);
// A readiness probe must answer quickly: a Redis slower than this is as good as down.
constexpr auto kRedisPingTimeout = std::chrono::milliseconds(500);

http::response<http::string_body> json_answer(http::status status, std::string body, unsigned version) {
  http::response<http::string_body> response{status, version};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

AdminServer::AdminServer(std::shared_ptr<Runtime> runtime, BlockingPool& blocking,
                         const tcp::endpoint& listen, std::vector<tcp::endpoint> upstream)
    : context_(1),
      runtime_(std::move(runtime)),
      blocking_(blocking),
      upstream_(std::move(upstream)),
      acceptor_(context_) {
  for (const auto& endpoint : runtime_->redis_endpoints) {
    redis_.push_back(std::make_shared<authcore::RedisSyncClient>(endpoint, kRedisPingTimeout, 1));
  }
  error_code ec;
  acceptor_.open(listen.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(listen, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + format_endpoint(listen) + " (admin): " + ec.message());
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  asio::co_spawn(context_, accept_connections(), asio::detached);
  thread_ = std::thread([this] {
    try {
      context_.run();
    } catch (const std::exception& e) {
      std::cerr << "doorman: admin listener stopped: " << e.what() << std::endl;
    }
  });
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  context_.stop();
  thread_.join();
}

asio::awaitable<void> AdminServer::accept_connections() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      asio::steady_timer pause(context_, std::chrono::milliseconds(50));
      co_await pause.async_wait(nothrow);
      continue;
    }
    asio::co_spawn(context_, serve_connection(std::move(socket)), asio::detached);
  }
}

asio::awaitable<bool> AdminServer::upstream_reachable() {
  beast::tcp_stream stream(context_);
  stream.expires_after(std::chrono::milliseconds(runtime_->config->upstream.connect_timeout_ms));
  auto [ec, endpoint] = co_await stream.async_connect(upstream_, nothrow);
  co_return !ec;
}

asio::awaitable<bool> AdminServer::redis_reachable() {
  for (const auto& client : redis_) {
    // A copy per call: the lambda must own what it uses (see the GCC 12 note in serve_connection).
    auto ping = [client] { return client->ping(); };
    bool up = false;
    try {
      up = co_await run_blocking(blocking_, std::move(ping));
    } catch (const std::exception&) {
      up = false;
    }
    if (!up) co_return false;
  }
  co_return true;
}

asio::awaitable<void> AdminServer::serve_connection(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8192);
    parser.body_limit(4096);
    stream.expires_after(kAdminTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
    if (ec) break;
    const auto& request = parser.get();
    const auto target = request.target().substr(0, request.target().find('?'));
    const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
    http::response<http::string_body> response;
    if (!get && (target == "/healthz" || target == "/readyz" || target == "/metrics")) {
      response = json_answer(http::status::method_not_allowed, R"({"detail":"Method Not Allowed"})",
                             request.version());
      response.set(http::field::allow, "GET");
    } else if (target == "/healthz") {
      response = json_answer(http::status::ok, R"({"status":"ok"})", request.version());
    } else if (target == "/readyz") {
      // Named, not a temporary inside the co_await expression: GCC 12 mishandles the
      // lifetime of temporaries there (the captured shared_ptr lost references).
      auto store = runtime_->store;
      bool database = false;
      if (store) {
        auto ping = [store] { return store->ping(); };
        try {
          database = co_await run_blocking(blocking_, std::move(ping));
        } catch (const std::exception&) {
          database = false;
        }
      }
      const bool upstream = co_await upstream_reachable();
      // Only a doorman that uses Redis names it: without one there is nothing to report.
      const bool redis = co_await redis_reachable();
      const bool ready = database && upstream && redis;
      std::string body = std::string(R"({"status":")") + (ready ? "ok" : "unavailable") +
                         R"(","database":")" + (database ? "ok" : "unreachable") + R"(","upstream":")" +
                         (upstream ? "ok" : "unreachable") + "\"";
      if (!redis_.empty()) body += std::string(R"(,"redis":")") + (redis ? "ok" : "unreachable") + "\"";
      body += "}";
      response = json_answer(ready ? http::status::ok : http::status::service_unavailable, std::move(body),
                             request.version());
    } else if (target == "/metrics") {
      response = http::response<http::string_body>{http::status::ok, request.version()};
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = metrics().render();
      response.prepare_payload();
    } else {
      response = json_answer(http::status::not_found, R"({"detail":"Not Found"})", request.version());
    }
    metrics().count_request(RouteClass::admin, response.result_int());
    response.keep_alive(request.keep_alive());
    if (request.method() == http::verb::head) {
      response.prepare_payload();
      response.body().clear();
      response.content_length(0);
    }
    stream.expires_after(kAdminTimeout);
    auto [write_ec, written] = co_await http::async_write(stream, response, nothrow);
    if (write_ec || !response.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace doorman::proxy
