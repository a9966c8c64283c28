// Tests for proxy/redis_async_client.cpp against a real, throwaway redis-server:
// commands and reply kinds, many concurrent commands pipelined on one
// connection, SELECT, Redis killed (unavailable, fast), backing off and
// recovering when it returns, an idle connection the server closed, a Redis
// that accepts but never answers (command timeout). Every test also checks
// that an idle client leaves its io_context nothing to wait for: run() returns.
#include "proxy/redis_async_client.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>

#include "authcore/redis_server.hpp"

namespace asio = boost::asio;
using doorman::authcore::StrategyError;
using doorman::proxy::RedisAsyncClient;
using doorman::proxy::RedisClientOptions;
using doorman::proxy::RedisGetResult;
using doorman::proxy::RedisReply;
using doorman::proxy::RedisResult;
using namespace std::chrono;

namespace {

doorman::authcore::RedisEndpoint endpoint_of(const std::string& url) {
  auto parsed = doorman::authcore::parse_redis_url(url);
  REQUIRE(parsed.ok());
  return parsed.value();
}

// Runs `body` as a coroutine on a fresh io_context until the context has no work left.
void run(const std::function<asio::awaitable<void>(asio::io_context&)>& body) {
  asio::io_context context;
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(context, body(context), [&](std::exception_ptr e) {
    finished = true;
    failure = e;
  });
  context.run();
  CHECK(finished);
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> sleep_for(asio::io_context& context, steady_clock::duration d) {
  asio::steady_timer timer(context, d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<RedisResult> command(RedisAsyncClient& client, std::vector<std::string> args) {
  co_return co_await client.async_command(std::move(args), asio::use_awaitable);
}

RedisClientOptions fast_options() {
  RedisClientOptions options;
  options.command_timeout = milliseconds(300);
  options.backoff_initial = milliseconds(50);
  options.backoff_max = milliseconds(400);
  return options;
}

}  // namespace

TEST_CASE("commands, reply kinds and GET's reading of them") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of(server.url()));
    std::vector<std::string> set{"SET", "k", std::string("v\0\r\n", 4)};
    const RedisResult ok = co_await command(client, set);
    REQUIRE(ok.ok());
    CHECK(ok->kind == RedisReply::Kind::status);
    CHECK(ok->text == "OK");
    CHECK(client.connected());

    const std::string key = "k";
    const RedisGetResult value = co_await client.get(key);
    REQUIRE(value.ok());
    CHECK(value.value() == std::optional<std::string>(std::string("v\0\r\n", 4)));
    const std::string absent = "absent";
    const RedisGetResult nil = co_await client.get(absent);
    REQUIRE(nil.ok());
    CHECK_FALSE(nil.value().has_value());

    std::vector<std::string> push{"RPUSH", "list", "a"};
    const RedisResult pushed = co_await command(client, push);
    CHECK(pushed->kind == RedisReply::Kind::integer);
    CHECK(pushed->integer == 1);
    const std::string list = "list";
    const RedisGetResult wrong_type = co_await client.get(list);  // WRONGTYPE: names no token
    REQUIRE(wrong_type.ok());
    CHECK_FALSE(wrong_type.value().has_value());
    std::vector<std::string> bogus{"NOSUCHCOMMAND"};
    const RedisResult error = co_await command(client, bogus);
    REQUIRE(error.ok());  // an error reply is a reply, and the connection stays usable
    CHECK(error->kind == RedisReply::Kind::error);
    CHECK((co_await client.get(key)).ok());
    CHECK(client.connects() == 1);
  });
}

TEST_CASE("get_with_ttl: the value and its key's PTTL in one round trip, pairs never mixed up") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of(server.url()));
    std::vector<std::string> forever{"SET", "forever", "a"};
    std::vector<std::string> brief{"SET", "brief", "b", "PX", "50000"};
    std::vector<std::string> list{"RPUSH", "list", "x"};
    REQUIRE((co_await command(client, forever)).ok());
    REQUIRE((co_await command(client, brief)).ok());
    REQUIRE((co_await command(client, list)).ok());

    const auto lasting = co_await client.get_with_ttl("forever");
    REQUIRE(lasting.ok());
    REQUIRE(lasting.value().has_value());
    CHECK(lasting.value()->value == "a");
    CHECK(lasting.value()->pttl_ms == -1);
    const auto expiring = co_await client.get_with_ttl("brief");
    REQUIRE(expiring.value().has_value());
    CHECK(expiring.value()->value == "b");
    CHECK(expiring.value()->pttl_ms > 0);
    CHECK(expiring.value()->pttl_ms <= 50000);
    const auto absent = co_await client.get_with_ttl("absent");
    REQUIRE(absent.ok());
    CHECK_FALSE(absent.value().has_value());
    const auto wrong_type = co_await client.get_with_ttl("list");
    REQUIRE(wrong_type.ok());
    CHECK_FALSE(wrong_type.value().has_value());

    // Many at once on the one connection: each gets its own key's pair.
    int right = 0;
    int answered = 0;
    for (int i = 0; i < 200; ++i) {
      asio::co_spawn(
          context,
          [&client, &right, &answered, i]() -> asio::awaitable<void> {
            const bool expiring_key = i % 2 == 0;
            const auto got = co_await client.get_with_ttl(expiring_key ? "brief" : "forever");
            ++answered;
            if (got.ok() && got.value() && got.value()->value == (expiring_key ? "b" : "a") &&
                (expiring_key ? got.value()->pttl_ms > 0 : got.value()->pttl_ms == -1))
              ++right;
          },
          asio::detached);
    }
    while (answered < 200) co_await asio::post(context, asio::use_awaitable);
    CHECK(right == 200);
    CHECK(client.connects() == 1);
  });
}

TEST_CASE("get_with_ttl with Redis gone: unavailable, never a value") {
  doorman::test::RedisServer server;
  const auto endpoint = endpoint_of(server.url());
  server.stop();
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint, fast_options());
    const auto got = co_await client.get_with_ttl("anything");
    REQUIRE_FALSE(got.ok());
    CHECK(got.error() == doorman::authcore::StrategyError::unavailable);
  });
}

TEST_CASE("many concurrent commands pipeline on one connection, answered in order") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of(server.url()));
    for (int i = 0; i < 50; ++i) {
      std::vector<std::string> set{"SET", "key:" + std::to_string(i), "value:" + std::to_string(i)};
      REQUIRE((co_await command(client, set)).ok());
    }
    int answered = 0;
    int right = 0;
    constexpr int kConcurrent = 500;
    for (int i = 0; i < kConcurrent; ++i) {
      asio::co_spawn(
          context,
          [&client, &answered, &right, i]() -> asio::awaitable<void> {
            const std::string key = "key:" + std::to_string(i % 60);
            const RedisGetResult value = co_await client.get(key);
            ++answered;
            const bool expect_value = i % 60 < 50;
            if (value.ok() && value.value().has_value() == expect_value &&
                (!expect_value || *value.value() == "value:" + std::to_string(i % 60)))
              ++right;
          },
          asio::detached);
    }
    while (answered < kConcurrent) co_await sleep_for(context, milliseconds(5));
    CHECK(right == kConcurrent);
    CHECK(client.connects() == 1);
  });
}

TEST_CASE("SELECT: a URL's database number is used") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient db0(context.get_executor(), endpoint_of(server.url(0)));
    RedisAsyncClient db5(context.get_executor(), endpoint_of(server.url(5)));
    std::vector<std::string> set{"SET", "where", "five"};
    REQUIRE((co_await command(db5, set)).ok());
    const std::string key = "where";
    CHECK((co_await db5.get(key)).value() == std::optional<std::string>("five"));
    CHECK_FALSE((co_await db0.get(key)).value().has_value());
  });
}

TEST_CASE("Redis killed: unavailable at once; back off; recover when it returns") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of(server.url()), fast_options());
    const std::string key = "k";
    std::vector<std::string> set{"SET", "k", "v"};
    REQUIRE((co_await command(client, set)).ok());

    server.stop();
    auto before = steady_clock::now();
    for (int i = 0; i < 5; ++i) {
      const RedisGetResult down = co_await client.get(key);
      REQUIRE_FALSE(down.ok());
      CHECK(down.error() == StrategyError::unavailable);
    }
    CHECK(steady_clock::now() - before < milliseconds(250));  // refused or backing off: no waiting
    CHECK_FALSE(client.connected());

    server.start();
    before = steady_clock::now();
    bool recovered = false;
    while (!recovered && steady_clock::now() - before < seconds(3)) {
      const RedisGetResult value = co_await client.get(key);
      recovered = value.ok();
      if (!recovered) co_await sleep_for(context, milliseconds(20));
    }
    CHECK(recovered);  // an empty Redis: the key is gone, but the answer is an answer
  });
}

TEST_CASE("an idle connection the server closed is replaced before it is used") {
  doorman::test::RedisServer server;
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of(server.url()), fast_options());
    const std::string key = "k";
    REQUIRE((co_await client.get(key)).ok());
    server.stop();
    server.start();
    co_await sleep_for(context, milliseconds(50));
    // No request may fail because of a restart that happened while nobody was asking.
    const RedisGetResult after = co_await client.get(key);
    CHECK(after.ok());
    CHECK(client.connects() == 2);
  });
}

TEST_CASE("a Redis that accepts but never answers: the command times out as unavailable") {
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    asio::ip::tcp::acceptor silent(context, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const auto port = silent.local_endpoint().port();
    RedisAsyncClient client(context.get_executor(), endpoint_of("redis://127.0.0.1:" + std::to_string(port)),
                            fast_options());
    const std::string key = "k";
    const auto before = steady_clock::now();
    const RedisGetResult hung = co_await client.get(key);
    const auto took = steady_clock::now() - before;
    REQUIRE_FALSE(hung.ok());
    CHECK(took >= milliseconds(250));
    CHECK(took < milliseconds(1500));
    silent.close();
  });
}

TEST_CASE("nothing listening: unavailable quickly") {
  run([&](asio::io_context& context) -> asio::awaitable<void> {
    RedisAsyncClient client(context.get_executor(), endpoint_of("redis://127.0.0.1:1/0"), fast_options());
    const std::string key = "k";
    const auto before = steady_clock::now();
    const RedisGetResult refused = co_await client.get(key);
    REQUIRE_FALSE(refused.ok());
    CHECK(steady_clock::now() - before < milliseconds(250));
  });
}
