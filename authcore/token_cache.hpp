// The opaque-token cache (users.cache_ttl_ms): whom a database or Redis token
// named, remembered for the TTL, so a request whose token was seen moments ago
// skips the store (DESIGN.md §2: the hot path should not touch the database).
// Process-wide, sharded and thread-safe, like the user cache beside it; it
// maps a token to a user id only, so a changed or deleted user is still seen
// through the user cache and its invalidations.
//
// An entry is never served at or after the token's own end (TokenOwner's
// expires_at), nor once forgotten: a logout in this process forgets the token
// at once; one on another replica arrives as the token's SHA-256 digest over
// the invalidation bus (raw tokens never travel). Without a bus, another
// replica's logout is seen once the entry is older than the TTL, the same
// bound as for a changed user.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authcore/strategy.hpp"

namespace doorman::authcore {

class TokenCache {
 public:
  using Digest = std::array<unsigned char, 32>;  // SHA-256 of the token's bytes
  static constexpr std::size_t kDefaultCapacity = 16384;

  // ttl 0 disables the cache: find() never answers, put() keeps nothing.
  explicit TokenCache(std::chrono::milliseconds ttl, std::size_t capacity = kDefaultCapacity);
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  bool enabled() const;
  // The user id `token` named when backend `backend` read it, if that answer is still fresh at `now`.
  std::optional<std::string> find(std::size_t backend, std::string_view token,
                                  std::chrono::steady_clock::time_point now) const;
  // Counts forget() and clear() calls. A reader takes it before asking the
  // store and hands it to put(): an answer that a logout overtook is not kept.
  std::uint64_t generation() const;
  // Remembers what backend `backend` read `token` to name, for the TTL or until the token's
  // end, whichever comes first (`wall_now` is the same moment as `now`, on the clock of expires_at),
  // unless something was forgotten since `read_generation`. A full shard first drops its
  // stale entries, then, if still full, everything it holds.
  void put(std::size_t backend, std::string_view token, const TokenOwner& owner,
           std::uint64_t read_generation, std::chrono::steady_clock::time_point now,
           std::chrono::system_clock::time_point wall_now);
  // Forgets `token` (a logout made by this process), whichever backend read it.
  void forget(std::string_view token);
  // Forgets the token whose digest this is (a logout announced by another replica).
  void forget(const Digest& digest);
  void clear();
  std::size_t size() const;

  static Digest digest_of(std::string_view token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::authcore
