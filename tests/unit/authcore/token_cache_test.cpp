// TokenCache: served until the TTL or the token's own end, whichever is first;
// per backend; forgotten by token or by digest; a read overtaken by a forget
// is not kept; bounded; off when the TTL is 0.
#include "authcore/token_cache.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono;
using doorman::authcore::TokenCache;
using doorman::authcore::TokenOwner;

const std::string kToken = "8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI";
const std::string kOther = "Yq3xS0m2c1pF6o5d0w9aJ7kL3v2bN8hT4gR1eU6iO0z";
const std::string kUser = "5726a80f-6984-429f-9f05-b924f0def3ce";

struct Clocks {
  steady_clock::time_point now = steady_clock::now();
  system_clock::time_point wall = system_clock::now();
};

}  // namespace

TEST_CASE("an entry is served for the TTL, and never at or after it") {
  TokenCache cache(milliseconds(1000));
  const Clocks c;
  cache.put(0, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  CHECK(cache.find(0, kToken, c.now) == std::optional<std::string>(kUser));
  CHECK(cache.find(0, kToken, c.now + milliseconds(999)) == std::optional<std::string>(kUser));
  CHECK_FALSE(cache.find(0, kToken, c.now + milliseconds(1000)).has_value());
  CHECK(cache.size() == 0);  // the stale entry is gone
}

TEST_CASE("a token that ends before the TTL is served only until its end; an ended one is not kept") {
  TokenCache cache(milliseconds(60000));
  const Clocks c;
  cache.put(0, kToken, TokenOwner{kUser, c.wall + milliseconds(300)}, cache.generation(), c.now, c.wall);
  CHECK(cache.find(0, kToken, c.now + milliseconds(299)).has_value());
  CHECK_FALSE(cache.find(0, kToken, c.now + milliseconds(300)).has_value());

  cache.put(0, kToken, TokenOwner{kUser, c.wall}, cache.generation(), c.now, c.wall);
  cache.put(0, kOther, TokenOwner{kUser, c.wall - seconds(1)}, cache.generation(), c.now, c.wall);
  CHECK(cache.size() == 0);

  // An end past the TTL leaves the TTL in charge.
  cache.put(0, kToken, TokenOwner{kUser, c.wall + hours(1)}, cache.generation(), c.now, c.wall);
  CHECK(cache.find(0, kToken, c.now + milliseconds(59999)).has_value());
  CHECK_FALSE(cache.find(0, kToken, c.now + milliseconds(60000)).has_value());
}

TEST_CASE("an entry answers only the backend that read it") {
  TokenCache cache(milliseconds(1000));
  const Clocks c;
  cache.put(1, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  CHECK_FALSE(cache.find(0, kToken, c.now).has_value());
  CHECK(cache.find(1, kToken, c.now).has_value());
}

TEST_CASE("forget by token and by digest drop only that token") {
  TokenCache cache(milliseconds(60000));
  const Clocks c;
  cache.put(0, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  cache.put(0, kOther, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  cache.forget(kToken);
  CHECK_FALSE(cache.find(0, kToken, c.now).has_value());
  CHECK(cache.find(0, kOther, c.now).has_value());

  cache.put(1, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  cache.forget(TokenCache::digest_of(kToken));
  CHECK_FALSE(cache.find(1, kToken, c.now).has_value());
  CHECK(cache.find(0, kOther, c.now).has_value());

  cache.clear();
  CHECK(cache.size() == 0);
}

TEST_CASE("digest_of is SHA-256 of the token's bytes") {
  // sha256("abc"), FIPS 180-2's first example.
  const TokenCache::Digest abc = TokenCache::digest_of("abc");
  CHECK(abc[0] == 0xba);
  CHECK(abc[1] == 0x78);
  CHECK(abc[31] == 0xad);
  CHECK(TokenCache::digest_of(kToken) != TokenCache::digest_of(kOther));
}

TEST_CASE("a read that a forget or clear overtook is not kept") {
  TokenCache cache(milliseconds(60000));
  const Clocks c;
  for (int how = 0; how < 3; ++how) {
    CAPTURE(how);
    const auto before_read = cache.generation();
    if (how == 0) cache.forget(kOther);
    if (how == 1) cache.forget(TokenCache::digest_of(kOther));
    if (how == 2) cache.clear();
    cache.put(0, kToken, TokenOwner{kUser, std::nullopt}, before_read, c.now, c.wall);
    CHECK_FALSE(cache.find(0, kToken, c.now).has_value());
  }
  cache.put(0, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  CHECK(cache.find(0, kToken, c.now).has_value());
}

TEST_CASE("a full cache drops stale entries first, then starts over; it never grows past its bound") {
  TokenCache cache(milliseconds(1000), /*capacity=*/16);  // one entry per shard
  const Clocks c;
  for (int i = 0; i < 1000; ++i) {
    cache.put(0, kToken + std::to_string(i), TokenOwner{kUser, std::nullopt}, cache.generation(), c.now,
              c.wall);
  }
  CHECK(cache.size() <= 16);
  CHECK(cache.find(0, kToken + "999", c.now).has_value());  // the newest is always kept
}

TEST_CASE("a TTL of 0 turns the cache off") {
  TokenCache cache(milliseconds(0));
  const Clocks c;
  CHECK_FALSE(cache.enabled());
  cache.put(0, kToken, TokenOwner{kUser, std::nullopt}, cache.generation(), c.now, c.wall);
  CHECK_FALSE(cache.find(0, kToken, c.now).has_value());
  CHECK(cache.size() == 0);
}
