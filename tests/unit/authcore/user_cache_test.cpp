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
  CHECK(cache.get("a", t0) == nullptr);

  cache.put(std::make_shared<const User>(user("a", "a@example.com")), t0, cache.generation());
  REQUIRE(cache.get("a", t0 + milliseconds(999)) != nullptr);
  CHECK(cache.get("a", t0 + milliseconds(999))->email == "a@example.com");
  CHECK(cache.get("a", t0 + milliseconds(1000)) == nullptr);
  CHECK(cache.get("a", t0) == nullptr);  // the expired entry was dropped

  cache.put(std::make_shared<const User>(user("a", "old@example.com")), t0, cache.generation());
  cache.put(std::make_shared<const User>(user("a", "new@example.com")), t0, cache.generation());
  CHECK(cache.get("a", t0)->email == "new@example.com");
}

TEST_CASE("invalidate and clear drop entries") {
  UserCache cache(milliseconds(60000));
  const auto now = steady_clock::now();
  cache.put(std::make_shared<const User>(user("a")), now, cache.generation());
  cache.put(std::make_shared<const User>(user("b")), now, cache.generation());
  cache.invalidate("a");
  cache.invalidate("never-cached");
  CHECK(cache.get("a", now) == nullptr);
  CHECK(cache.get("b", now) != nullptr);
  cache.clear();
  CHECK(cache.get("b", now) == nullptr);
}

TEST_CASE("a TTL of 0 disables the cache") {
  UserCache cache(milliseconds(0));
  CHECK_FALSE(cache.enabled());
  const auto now = steady_clock::now();
  cache.put(std::make_shared<const User>(user("a")), now, cache.generation());
  CHECK(cache.get("a", now) == nullptr);
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
        cache.put(std::make_shared<const User>(user(id)), now, cache.generation());
        const auto got = cache.get(id, now);
        if (got && got->id != id) ++mismatches;
        if (i % 7 == 0) cache.invalidate(id);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
  cache.put(std::make_shared<const User>(user("last")), now, cache.generation());
  CHECK(cache.get("last", now) != nullptr);
}

TEST_CASE("a hit shares the cached user instead of copying it; a replaced entry leaves holders their copy") {
  UserCache cache(milliseconds(60000));
  const auto now = steady_clock::now();
  auto first = std::make_shared<const User>(user("a", "first@example.com"));
  cache.put(first, now, cache.generation());
  CHECK(cache.get("a", now).get() == first.get());
  const auto held = cache.get("a", now);
  cache.put(std::make_shared<const User>(user("a", "second@example.com")), now, cache.generation());
  CHECK(held->email == "first@example.com");  // what a request in flight holds does not change under it
  CHECK(cache.get("a", now)->email == "second@example.com");
}

TEST_CASE("a user read before an invalidation is not cached after it") {
  UserCache cache(milliseconds(60000));
  const auto now = steady_clock::now();
  for (int how = 0; how < 2; ++how) {
    CAPTURE(how);
    const auto before_read = cache.generation();
    if (how == 0) cache.invalidate("other");  // any change announced meanwhile
    if (how == 1) cache.clear();
    cache.put(std::make_shared<const User>(user("a")), now, before_read);
    CHECK(cache.get("a", now) == nullptr);
  }
  cache.put(std::make_shared<const User>(user("a")), now, cache.generation());
  CHECK(cache.get("a", now) != nullptr);
}
