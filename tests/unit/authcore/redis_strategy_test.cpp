// RedisStrategy over a fake RedisCommands: the key and value shapes of
// fastapi-users' RedisStrategy, bad stored values and bad tokens (never sent
// to Redis), a Redis that is down.
#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "authcore/random_token.hpp"
#include "authcore/redis_strategy.hpp"

namespace {

using namespace doorman::authcore;

const std::string kUserId = "11111111-1111-4111-8111-111111111111";
const std::string kPrefix = "fastapi_users_token:";

// An in-memory Redis: records every command, can be switched "down".
class FakeRedis final : public RedisCommands {
 public:
  struct Entry {
    std::string value;
    std::optional<int> expire;
  };
  std::map<std::string, Entry> keys;
  std::vector<std::string> commands;  // "GET key", "SET key", "DEL key"
  bool down = false;

  Result<std::optional<std::string>, StrategyError> get(const std::string& key) override {
    commands.push_back("GET " + key);
    if (down) return StrategyError::unavailable;
    const auto it = keys.find(key);
    if (it == keys.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second.value);
  }
  Result<bool, StrategyError> set(const std::string& key, const std::string& value,
                                  std::optional<int> expire_seconds) override {
    commands.push_back("SET " + key);
    if (down) return StrategyError::unavailable;
    keys[key] = Entry{value, expire_seconds};
    return true;
  }
  Result<bool, StrategyError> del(const std::string& key) override {
    commands.push_back("DEL " + key);
    if (down) return StrategyError::unavailable;
    return keys.erase(key) > 0;
  }
};

User user_with_id(std::string id) {
  User u;
  u.id = std::move(id);
  return u;
}

RedisStrategy make(const std::shared_ptr<FakeRedis>& redis, std::optional<int> lifetime = 3600,
                   std::string prefix = kPrefix) {
  return RedisStrategy(redis, RedisEndpoint{}, std::move(prefix), lifetime);
}

}  // namespace

TEST_CASE("write sets {prefix}{token} to the user id with the lifetime; read and destroy use the same key") {
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  CHECK_FALSE(strategy.reads_without_blocking());

  const auto token = strategy.write(user_with_id(kUserId));
  REQUIRE(token.ok());
  CHECK(looks_like_opaque_token(token.value()));
  const std::string key = kPrefix + token.value();
  REQUIRE(redis->keys.count(key) == 1);
  CHECK(redis->keys[key].value == kUserId);
  CHECK(redis->keys[key].expire == std::optional<int>(3600));
  CHECK(strategy.key_for(token.value()) == std::optional<std::string>(key));

  CHECK(user_id_of(strategy.read(token.value()).value()) == std::optional<std::string>(kUserId));
  CHECK(strategy.destroy(token.value(), user_with_id(kUserId)).value());
  CHECK(redis->keys.empty());
  CHECK(user_id_of(strategy.read(token.value()).value()) == std::nullopt);
  CHECK_FALSE(strategy.destroy(token.value(), user_with_id(kUserId)).value());  // already gone: still fine
}

TEST_CASE("no lifetime (null or 0) writes a key without expiry; the prefix is configurable") {
  for (const std::optional<int> lifetime : {std::optional<int>(), std::optional<int>(0)}) {
    auto redis = std::make_shared<FakeRedis>();
    auto strategy = make(redis, lifetime, "app:");
    const auto token = strategy.write(user_with_id(kUserId));
    REQUIRE(token.ok());
    REQUIRE(redis->keys.count("app:" + token.value()) == 1);
    CHECK_FALSE(redis->keys["app:" + token.value()].expire.has_value());
  }
}

TEST_CASE("a key written by a fastapi-users app (same prefix) is accepted") {
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  // secrets.token_urlsafe() and str(user.id), as upstream writes them.
  const std::string token = "yiTKBp17bfSU4UiJjZZVhGRUo8rKnzS_LbBs-M384iY";
  redis->keys[kPrefix + token] = {kUserId, 3600};
  CHECK(user_id_of(strategy.read(token).value()) == std::optional<std::string>(kUserId));
}

TEST_CASE("a stored value that is not a user id names no user") {
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  const std::string token = new_opaque_token();
  const std::string key = kPrefix + token;
  for (const std::string& bad : std::vector<std::string>{
           "", "42", "not-a-uuid", "11111111-1111-4111-8111-11111111111",
           "11111111-1111-4111-8111-1111111111111", "11111111-1111-4111-8111-11111111111g", kUserId + " ",
           std::string("11111111-1111-4111-8111-111111111111\0", 37),
           "{\"id\": \"11111111-1111-4111-8111-111111111111\"}"}) {
    CAPTURE(bad);
    redis->keys[key] = {bad, std::nullopt};
    const auto read = strategy.read(token);
    REQUIRE(read.ok());
    CHECK_FALSE(read.value().has_value());
  }
  // What Python's uuid.UUID accepts is read as the canonical id, never as another user's.
  redis->keys[key] = {"11111111111141118111111111111111", std::nullopt};
  CHECK(user_id_of(strategy.read(token).value()) == std::optional<std::string>(kUserId));
  redis->keys[key] = {"{11111111-1111-4111-8111-111111111111}", std::nullopt};
  CHECK(user_id_of(strategy.read(token).value()) == std::optional<std::string>(kUserId));
  const auto now = std::chrono::system_clock::now();
  CHECK(user_id_of(RedisStrategy::owner_from("AAAAAAAA-1111-4111-8111-111111111111", std::nullopt, now)) ==
        std::optional<std::string>("aaaaaaaa-1111-4111-8111-111111111111"));
  CHECK_FALSE(RedisStrategy::owner_from("not-a-uuid", 5000, now).has_value());
}

TEST_CASE("owner_from: the key's PTTL is the token's end; without one nothing may outlive the read") {
  const auto now = std::chrono::system_clock::now();
  using std::chrono::milliseconds;
  CHECK(RedisStrategy::owner_from(kUserId, 5000, now)->expires_at == now + milliseconds(5000));
  CHECK(RedisStrategy::owner_from(kUserId, 0, now)->expires_at == now);
  CHECK_FALSE(RedisStrategy::owner_from(kUserId, -1, now)->expires_at.has_value());  // no TTL: until logout
  CHECK(RedisStrategy::owner_from(kUserId, -2, now)->expires_at == now);             // gone meanwhile
  CHECK(RedisStrategy::owner_from(kUserId, std::nullopt, now)->expires_at == now);   // not asked
  // The blocking read does not ask for the TTL: its answers are never remembered.
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  const auto token = strategy.write(user_with_id(kUserId));
  REQUIRE(token.ok());
  const auto before = std::chrono::system_clock::now();
  const auto read = strategy.read(token.value());
  REQUIRE(read.ok());
  REQUIRE(read.value().has_value());
  CHECK(read.value()->expires_at.has_value());
  CHECK(*read.value()->expires_at >= before);
  CHECK(*read.value()->expires_at <= std::chrono::system_clock::now());
}

TEST_CASE("a token of the wrong length or alphabet is never sent to Redis") {
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  const std::string good = new_opaque_token();
  for (const std::string& bad : std::vector<std::string>{
           std::string(), good.substr(0, 42), good + "A", good.substr(0, 42) + "=", good.substr(0, 42) + "/",
           good.substr(0, 42) + "+", good.substr(0, 42) + " ", good.substr(0, 42) + "*",
           std::string(43, '\0'), std::string("eyJhbGciOiJIUzI1NiJ9.e30.x"),
           good.substr(0, 21) + "\r\n" + good.substr(0, 20)}) {
    CAPTURE(bad);
    CHECK_FALSE(strategy.key_for(bad).has_value());
    const auto read = strategy.read(bad);
    REQUIRE(read.ok());
    CHECK_FALSE(read.value().has_value());
    const auto destroyed = strategy.destroy(bad, user_with_id(kUserId));
    REQUIRE(destroyed.ok());
    CHECK_FALSE(destroyed.value());
  }
  CHECK(redis->commands.empty());
}

TEST_CASE("Redis down: read, write and destroy are unavailable (503), never a user") {
  auto redis = std::make_shared<FakeRedis>();
  auto strategy = make(redis);
  const auto token = strategy.write(user_with_id(kUserId));
  REQUIRE(token.ok());
  redis->down = true;
  CHECK_FALSE(strategy.read(token.value()).ok());
  CHECK(strategy.read(token.value()).error() == StrategyError::unavailable);
  CHECK_FALSE(strategy.write(user_with_id(kUserId)).ok());
  CHECK_FALSE(strategy.destroy(token.value(), user_with_id(kUserId)).ok());
  redis->down = false;  // recovery needs nothing but Redis
  CHECK(user_id_of(strategy.read(token.value()).value()) == std::optional<std::string>(kUserId));
}
