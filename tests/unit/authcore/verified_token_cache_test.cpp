// VerifiedTokenCache: never served at or after exp, exact token bytes as the key,
// one verifier's entries invisible to another, bounded size.
#include <doctest/doctest.h>

#include <string>
#include <thread>

#include "authcore/verified_token_cache.hpp"

namespace {

using doorman::authcore::VerifiedTokenCache;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::uint64_t kOwner = 7;
const std::string kToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";

}  // namespace

TEST_CASE("an entry is served while now < exp, never at or after exp") {
  VerifiedTokenCache cache;
  cache.insert(kToken, kOwner, "user-a", kNow + 10, kNow);
  CHECK(cache.find(kToken, kOwner, kNow).value().user_id == "user-a");
  CHECK(cache.find(kToken, kOwner, kNow + 9).value().user_id == "user-a");
  CHECK(cache.find(kToken, kOwner, kNow + 9).value().exp == kNow + 10);
  CHECK_FALSE(cache.find(kToken, kOwner, kNow + 10).has_value());
  CHECK(cache.size() == 0);  // the expired entry is gone
  CHECK_FALSE(
      cache.find(kToken, kOwner, kNow + 9).has_value());  // and does not come back for an earlier clock
}

TEST_CASE("an already expired token is not stored; one without exp stays") {
  VerifiedTokenCache cache;
  cache.insert(kToken, kOwner, "user-a", kNow, kNow);
  CHECK(cache.size() == 0);
  cache.insert(kToken, kOwner, "user-a", VerifiedTokenCache::kNoExpiry, kNow);
  CHECK(cache.find(kToken, kOwner, kNow + 100'000'000).value().user_id == "user-a");
}

TEST_CASE("the key is the exact token: no prefix, suffix, case or one-byte variant matches") {
  VerifiedTokenCache cache;
  cache.insert(kToken, kOwner, "user-a", kNow + 10, kNow);
  std::string flipped = kToken;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  std::string upper = kToken;
  upper[0] = 'E';
  for (const std::string& other :
       {flipped, upper, kToken.substr(0, kToken.size() - 1), kToken + "=", " " + kToken, std::string()}) {
    CHECK_FALSE(cache.find(other, kOwner, kNow).has_value());
  }
  CHECK(cache.find(kToken, kOwner, kNow).has_value());
}

TEST_CASE("another verifier's entry is not a hit") {
  VerifiedTokenCache cache;
  cache.insert(kToken, kOwner, "user-a", kNow + 10, kNow);
  CHECK_FALSE(cache.find(kToken, kOwner + 1, kNow).has_value());
  cache.insert(kToken, kOwner + 1, "user-b", kNow + 10, kNow);
  CHECK(cache.find(kToken, kOwner + 1, kNow).value().user_id == "user-b");
  CHECK_FALSE(cache.find(kToken, kOwner, kNow).has_value());
  CHECK(VerifiedTokenCache::new_owner() != VerifiedTokenCache::new_owner());
}

TEST_CASE("different tokens of one user are separate entries with their own exp") {
  VerifiedTokenCache cache;
  cache.insert("token-1", kOwner, "user-a", kNow + 5, kNow);
  cache.insert("token-2", kOwner, "user-a", kNow + 50, kNow);
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.find("token-1", kOwner, kNow + 5).has_value());
  CHECK(cache.find("token-2", kOwner, kNow + 5).value().user_id == "user-a");
}

TEST_CASE("the size stays within capacity: expired entries go first, then all") {
  VerifiedTokenCache cache(4);
  cache.insert("t1", kOwner, "u", kNow + 1, kNow);
  cache.insert("t2", kOwner, "u", kNow + 1, kNow);
  cache.insert("t3", kOwner, "u", kNow + 100, kNow);
  cache.insert("t4", kOwner, "u", kNow + 100, kNow);
  CHECK(cache.size() == 4);
  cache.insert("t5", kOwner, "u", kNow + 100, kNow + 2);  // t1, t2 expired: dropped
  CHECK(cache.size() == 3);
  CHECK(cache.find("t3", kOwner, kNow + 2).has_value());
  cache.insert("t6", kOwner, "u", kNow + 100, kNow + 2);
  CHECK(cache.size() == 4);
  cache.insert("t3", kOwner, "v", kNow + 100, kNow + 2);  // a refresh of a present key does not evict
  CHECK(cache.size() == 4);
  CHECK(cache.find("t3", kOwner, kNow + 2).value().user_id == "v");
  cache.insert("t7", kOwner, "u", kNow + 100, kNow + 2);  // full of live tokens: starts over
  CHECK(cache.size() == 1);
  CHECK(cache.find("t7", kOwner, kNow + 2).has_value());

  VerifiedTokenCache disabled(0);
  disabled.insert("t1", kOwner, "u", kNow + 100, kNow);
  CHECK(disabled.size() == 0);
}

TEST_CASE("each thread has its own cache") {
  auto* mine = &VerifiedTokenCache::for_this_thread();
  VerifiedTokenCache* other = nullptr;
  std::thread([&] { other = &VerifiedTokenCache::for_this_thread(); }).join();
  CHECK(mine != other);
  CHECK(mine == &VerifiedTokenCache::for_this_thread());
}
