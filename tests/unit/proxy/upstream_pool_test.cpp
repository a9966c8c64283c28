// Tests for proxy/upstream_pool.cpp: newest-first reuse, the idle limit, the idle
// age limit, and what is never pooled. Sockets are opened, never connected.
#include "proxy/upstream_pool.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <cstring>

using boost::asio::ip::tcp;
using doorman::proxy::UpstreamConnectionPtr;
using doorman::proxy::UpstreamPool;
using Clock = std::chrono::steady_clock;

namespace {

UpstreamConnectionPtr open_connection(UpstreamPool& pool) {
  auto connection = pool.make_connection();
  connection->socket.open(tcp::v4());
  return connection;
}

}  // namespace

TEST_CASE("an empty pool has nothing idle") {
  boost::asio::io_context context;
  UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
  CHECK(pool.take_idle(Clock::now()) == nullptr);
  CHECK(pool.idle_count() == 0);
}

TEST_CASE("the connection given back last is reused first") {
  boost::asio::io_context context;
  UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
  const auto now = Clock::now();
  auto first = open_connection(pool);
  auto second = open_connection(pool);
  const auto* second_address = second.get();
  pool.give_back(std::move(first), now);
  pool.give_back(std::move(second), now);
  CHECK(pool.idle_count() == 2);
  auto taken = pool.take_idle(now);
  CHECK(taken.get() == second_address);
  CHECK(pool.idle_count() == 1);
}

TEST_CASE("a full pool closes its oldest connection") {
  boost::asio::io_context context;
  UpstreamPool pool(context.get_executor(), {}, 2, std::chrono::seconds(4));
  const auto now = Clock::now();
  auto a = open_connection(pool);
  auto b = open_connection(pool);
  auto c = open_connection(pool);
  const auto* b_address = b.get();
  const auto* c_address = c.get();
  pool.give_back(std::move(a), now);
  pool.give_back(std::move(b), now);
  pool.give_back(std::move(c), now);
  CHECK(pool.idle_count() == 2);
  CHECK(pool.take_idle(now).get() == c_address);
  CHECK(pool.take_idle(now).get() == b_address);
  CHECK(pool.take_idle(now) == nullptr);
}

TEST_CASE("connections idle longer than the age limit are not reused") {
  boost::asio::io_context context;
  UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
  const auto then = Clock::now();
  pool.give_back(open_connection(pool), then);
  CHECK(pool.take_idle(then + std::chrono::seconds(5)) == nullptr);
  CHECK(pool.idle_count() == 0);
  pool.give_back(open_connection(pool), then);
  CHECK(pool.take_idle(then + std::chrono::seconds(3)) != nullptr);
}

TEST_CASE("closed connections, leftover bytes and a zero limit are never pooled") {
  boost::asio::io_context context;
  const auto now = Clock::now();
  SUBCASE("closed") {
    UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
    pool.give_back(pool.make_connection(), now);
    CHECK(pool.idle_count() == 0);
  }
  SUBCASE("bytes past the response") {
    UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
    auto connection = open_connection(pool);
    auto space = connection->buffer.prepare(3);
    std::memcpy(space.data(), "abc", 3);
    connection->buffer.commit(3);
    pool.give_back(std::move(connection), now);
    CHECK(pool.idle_count() == 0);
  }
  SUBCASE("max_idle_per_worker 0") {
    UpstreamPool pool(context.get_executor(), {}, 0, std::chrono::seconds(4));
    pool.give_back(open_connection(pool), now);
    CHECK(pool.idle_count() == 0);
  }
  SUBCASE("nullptr") {
    UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
    pool.give_back(nullptr, now);
    CHECK(pool.idle_count() == 0);
  }
}

TEST_CASE("close_idle empties the pool") {
  boost::asio::io_context context;
  UpstreamPool pool(context.get_executor(), {}, 4, std::chrono::seconds(4));
  pool.give_back(open_connection(pool), Clock::now());
  pool.give_back(open_connection(pool), Clock::now());
  pool.close_idle();
  CHECK(pool.idle_count() == 0);
}

TEST_CASE("a socket that is not connected counts as closed by its peer") {
  boost::asio::io_context context;
  tcp::socket socket(context);
  socket.open(tcp::v4());
  CHECK(doorman::proxy::peer_closed(socket));
}
