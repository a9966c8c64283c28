// InvalidationBus against a real redis-server: one bus's publish drops the user
// from another bus's cache; "*" clears it; with Redis down a change does not
// wait long, the other bus clears its cache when it subscribes again, and the
// publisher goes back to publishing directly; the endpoint is chosen from config.
#include "proxy/invalidation_bus.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "authcore/redis_server.hpp"

namespace doorman::proxy {
namespace {

using namespace std::chrono_literals;
using authcore::User;
using authcore::UserCache;

authcore::UserPtr user(const std::string& id) {
  User u;
  u.id = id;
  u.email = id + "@example.com";
  return std::make_shared<const User>(std::move(u));
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

authcore::RedisEndpoint endpoint_of(const test::RedisServer& redis) {
  return authcore::parse_redis_url(redis.url()).value();
}

bool cached(const UserCache& cache, const std::string& id) {
  return cache.get(id, std::chrono::steady_clock::now()) != nullptr;
}

// Two replicas' caches and buses on one real redis-server, both subscribed.
struct TwoReplicas {
  test::RedisServer redis;
  std::shared_ptr<UserCache> cache_a = std::make_shared<UserCache>(60s);
  std::shared_ptr<UserCache> cache_b = std::make_shared<UserCache>(60s);
  std::shared_ptr<authcore::TokenCache> tokens_a = std::make_shared<authcore::TokenCache>(60s);
  std::shared_ptr<authcore::TokenCache> tokens_b = std::make_shared<authcore::TokenCache>(60s);
  InvalidationBus a{endpoint_of(redis), cache_a, tokens_a};
  InvalidationBus b{endpoint_of(redis), cache_b, tokens_b};

  TwoReplicas() {
    a.start();
    b.start();
    REQUIRE(eventually([&] { return a.subscriptions() == 1 && b.subscriptions() == 1; }));
  }
};

}  // namespace

TEST_CASE("a publish on one replica drops the user from another replica's cache") {
  TwoReplicas replicas;
  auto& [redis, cache_a, cache_b, tokens_a, tokens_b, a, b] = replicas;

  const auto now = std::chrono::steady_clock::now();
  cache_b->put(user("u1"), now, cache_b->generation());
  cache_b->put(user("u2"), now, cache_b->generation());
  a.publish("u1");
  CHECK(eventually([&] { return !cached(*cache_b, "u1"); }));
  CHECK(cached(*cache_b, "u2"));  // only the announced user

  b.publish(kInvalidateEveryone);
  CHECK(eventually([&] { return !cached(*cache_b, "u2"); }));
  a.stop();
  b.stop();
  b.stop();  // idempotent
}

TEST_CASE("a logged-out token's digest drops it from another replica's token cache; '*' clears both caches") {
  TwoReplicas replicas;
  auto& [redis, cache_a, cache_b, tokens_a, tokens_b, a, b] = replicas;

  const std::string gone = "8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI";
  const std::string kept = "Yq3xS0m2c1pF6o5d0w9aJ7kL3v2bN8hT4gR1eU6iO0z";
  const auto put = [&](const std::string& token) {
    tokens_b->put(0, token, authcore::TokenOwner{"u1", std::nullopt}, tokens_b->generation(),
                  std::chrono::steady_clock::now(), std::chrono::system_clock::now());
  };
  const auto remembered = [&](const std::string& token) {
    return tokens_b->find(0, token, std::chrono::steady_clock::now()).has_value();
  };
  put(gone);
  put(kept);
  cache_b->put(user("u1"), std::chrono::steady_clock::now(), cache_b->generation());
  a.publish_token_revoked(authcore::TokenCache::digest_of(gone));
  CHECK(eventually([&] { return !remembered(gone); }));
  CHECK(remembered(kept));
  CHECK(cached(*cache_b, "u1"));  // a logout is not a change to the user

  b.publish(kInvalidateEveryone);
  CHECK(eventually([&] { return !remembered(kept) && !cached(*cache_b, "u1"); }));
}

TEST_CASE("token messages: token: and 64 lower-case hex digits, nothing else") {
  const auto digest = authcore::TokenCache::digest_of("abc");
  const std::string message = token_revoked_message(digest);
  CHECK(message == "token:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(revoked_token_digest(message) == digest);
  CHECK_FALSE(revoked_token_digest("9283b342-9a83-4503-9771-9cf8129482aa").has_value());  // a user id
  CHECK_FALSE(revoked_token_digest("*").has_value());
  CHECK_FALSE(revoked_token_digest(message.substr(0, message.size() - 1)).has_value());
  CHECK_FALSE(revoked_token_digest(message + "0").has_value());
  CHECK_FALSE(revoked_token_digest("token:" + std::string(64, 'g')).has_value());
  CHECK(revoked_token_digest("token:" + std::string(64, 'F')).has_value());  // either case reads
}

TEST_CASE("Redis down: changes never wait long; missed ones are delivered or the cache is cleared") {
  TwoReplicas replicas;
  auto& [redis, cache_a, cache_b, tokens_a, tokens_b, a, b] = replicas;
  a.publish("warm");  // a's publishing connection now exists, and dies with Redis

  redis.stop();
  const auto before = std::chrono::steady_clock::now();
  a.publish("u1");
  a.publish("u2");
  CHECK(std::chrono::steady_clock::now() - before < 2s);

  // b cannot subscribe while Redis is down; it caches users meanwhile.
  cache_b->put(user("u1"), std::chrono::steady_clock::now(), cache_b->generation());
  cache_b->put(user("other"), std::chrono::steady_clock::now(), cache_b->generation());
  redis.start();
  // Subscribing again clears b's cache, and a's queue reaches b afterwards or is covered by that clear.
  CHECK(eventually([&] { return b.subscriptions() == 2; }));
  CHECK_FALSE(cached(*cache_b, "u1"));
  CHECK_FALSE(cached(*cache_b, "other"));

  // Once a has drained its queue it publishes directly again.
  cache_b->put(user("u3"), std::chrono::steady_clock::now(), cache_b->generation());
  REQUIRE(eventually([&] {
    a.publish("u3");
    return !cached(*cache_b, "u3");
  }));
}

TEST_CASE("the endpoint: users.invalidation_redis_url, else the first redis strategy, else none") {
  config::Config config;
  CHECK_FALSE(invalidation_endpoint(config));
  config::BackendConfig redis_backend;
  redis_backend.strategy.type = config::StrategyKind::redis;
  redis_backend.strategy.redis_url = "redis://strategy:6379/1";
  config.auth.backends.push_back(redis_backend);
  REQUIRE(invalidation_endpoint(config));
  CHECK(invalidation_endpoint(config)->host == "strategy");
  config.users.invalidation_redis_url = "redis://:pw@bus:6380";
  REQUIRE(invalidation_endpoint(config));
  CHECK(invalidation_endpoint(config)->host == "bus");
  CHECK(invalidation_endpoint(config)->port == 6380);
  CHECK(invalidation_endpoint(config)->password == "pw");
  config.users.invalidation_redis_url = "redis://bus:notaport";
  CHECK_THROWS_AS(invalidation_endpoint(config), std::runtime_error);
}

}  // namespace doorman::proxy
