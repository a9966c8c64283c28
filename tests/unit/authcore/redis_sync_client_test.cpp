// RedisSyncClient against a real, throwaway redis-server: the commands, a
// database number, Redis going away (unavailable, quickly) and coming back
// (recovered without a new client).
#include <doctest/doctest.h>

#include <chrono>

#include "authcore/redis_server.hpp"
#include "authcore/redis_sync_client.hpp"

using namespace doorman::authcore;
using namespace std::chrono;

TEST_CASE("RedisSyncClient: SET/GET/DEL, expiry, SELECT, outage and recovery") {
  doorman::test::RedisServer server;
  auto endpoint = parse_redis_url(server.url(3));
  REQUIRE(endpoint.ok());
  RedisSyncClient client(endpoint.value(), milliseconds(1000));

  CHECK(client.get("k").value() == std::nullopt);
  REQUIRE(client.set("k", "v", std::nullopt).ok());
  CHECK(client.get("k").value() == std::optional<std::string>("v"));
  const std::string binary("a\0b\r\n", 5);
  REQUIRE(client.set(binary, binary, 60).ok());
  CHECK(client.get(binary).value() == std::optional<std::string>(binary));
  CHECK(client.del("k").value());
  CHECK_FALSE(client.del("k").value());

  // The keys live in database 3, not 0.
  auto db0 = parse_redis_url(server.url(0));
  RedisSyncClient other(db0.value(), milliseconds(1000));
  CHECK(other.get(binary).value() == std::nullopt);

  REQUIRE(client.set("short", "v", 1).ok());
  std::this_thread::sleep_for(milliseconds(2100));
  CHECK(client.get("short").value() == std::nullopt);

  server.stop();
  const auto before = steady_clock::now();
  const auto down = client.get("k");
  REQUIRE_FALSE(down.ok());
  CHECK(down.error() == StrategyError::unavailable);
  CHECK_FALSE(client.set("k", "v", 10).ok());
  CHECK_FALSE(client.del("k").ok());
  CHECK(steady_clock::now() - before < seconds(3));

  server.start();  // an empty Redis again, on the same port
  REQUIRE(client.set("back", "yes", 10).ok());
  CHECK(client.get("back").value() == std::optional<std::string>("yes"));

  // A restart while the pooled connection sat idle costs no failed call.
  server.stop();
  server.start();
  const auto after_restart = client.get("back");
  REQUIRE(after_restart.ok());
  CHECK_FALSE(after_restart.value().has_value());
}

TEST_CASE("RedisSyncClient: ping follows Redis down and back, quickly") {
  doorman::test::RedisServer server;
  auto endpoint = parse_redis_url(server.url(0));
  REQUIRE(endpoint.ok());
  RedisSyncClient client(endpoint.value(), milliseconds(500), 1);

  CHECK(client.ping());
  CHECK(client.ping());  // on the kept connection

  server.stop();
  const auto before = steady_clock::now();
  CHECK_FALSE(client.ping());
  CHECK(steady_clock::now() - before < seconds(2));

  server.start();
  CHECK(client.ping());  // a fresh connection, same client

  // Nothing listening at all: never a throw, just not reachable.
  RedisEndpoint nowhere;
  nowhere.host = "127.0.0.1";
  nowhere.port = 1;
  RedisSyncClient absent(nowhere, milliseconds(200));
  CHECK_FALSE(absent.ping());
}
