// UserCache: TTL expiry, disabled mode, invalidation, concurrent use.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "authcore/user_cache.hpp"

namespace {

using doorman::authcore::User;
using doorman::authcore::UserCache;
using namespace std::chrono;

User user(std::string id, std::string email = "u@example.com") {
  User u;
  u.id = std::move(id);
  u.email = std::move(email);
  return u;
}

}  // namespace

TEST_CASE("a cached user is served until its TTL passes") {
  UserCache cache(milliseconds(1000));
  CHECK(cache.enabled());
  const auto t0 = steady_clock::now();
  CHECK_FALSE(cache.get("a", t0).has_value());

  cache.put(user("a", "a@example.com"), t0);
  REQUIRE(cache.get("a", t0 + milliseconds(999)).has_value());
  CHECK(cache.get("a", t0 + milliseconds(999))->email == "a@example.com");
  CHECK_FALSE(cache.get("a", t0 + milliseconds(1000)).has_value());
  CHECK_FALSE(cache.get("a", t0).has_value());  // the expired entry was dropped

  cache.put(user("a", "old@example.com"), t0);
  cache.put(user("a", "new@example.com"), t0);
  CHECK(cache.get("a", t0)->email == "new@example.com");
}

TEST_CASE("invalidate and clear drop entries") {
  UserCache cache(milliseconds(60000));
  const auto now = steady_clock::now();
  cache.put(user("a"), now);
  cache.put(user("b"), now);
  cache.invalidate("a");
  cache.invalidate("never-cached");
  CHECK_FALSE(cache.get("a", now).has_value());
  CHECK(cache.get("b", now).has_value());
  cache.clear();
  CHECK_FALSE(cache.get("b", now).has_value());
}

TEST_CASE("a TTL of 0 disables the cache") {
  UserCache cache(milliseconds(0));
  CHECK_FALSE(cache.enabled());
  const auto now = steady_clock::now();
  cache.put(user("a"), now);
  CHECK_FALSE(cache.get("a", now).has_value());
}

TEST_CASE("many users stay bounded and concurrent access is safe") {
  UserCache cache(milliseconds(60000));
  const auto now = steady_clock::now();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50000; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i % 30000);
        cache.put(user(id), now);
        const auto got = cache.get(id, now);
        if (got && got->id != id) ++mismatches;
        if (i % 7 == 0) cache.invalidate(id);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
  cache.put(user("last"), now);
  CHECK(cache.get("last", now).has_value());
}
