// The hot-path user cache (users.cache_ttl_ms): id -> User for a short TTL, so a
// valid JWT of a cached user is resolved without the database. Sharded and
// thread-safe; invalidated on every change this process makes. Users are held
// as shared immutable values, so a hit costs a reference count, not a copy.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "authcore/user.hpp"

namespace doorman::authcore {

class UserCache {
 public:
  explicit UserCache(std::chrono::milliseconds ttl);
  ~UserCache();
  UserCache(const UserCache&) = delete;
  UserCache& operator=(const UserCache&) = delete;

  bool enabled() const;
  // The cached user if present and fresh at `now`; null otherwise.
  UserPtr get(std::string_view id, std::chrono::steady_clock::time_point now) const;
  // Counts invalidate() and clear() calls. A loader takes it before reading the
  // store and hands it to put(): a user read before a change was announced is
  // not cached after it.
  std::uint64_t generation() const;
  void put(UserPtr user, std::chrono::steady_clock::time_point now, std::uint64_t read_generation);
  void invalidate(std::string_view id);
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::authcore
