// The hot-path user cache (users.cache_ttl_ms): id -> User for a short TTL, so a
// valid JWT of a cached user is resolved without the database. Sharded and
// thread-safe; invalidated on every change this process makes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
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
  // The cached user if present and fresh at `now`.
  std::optional<User> get(std::string_view id, std::chrono::steady_clock::time_point now) const;
  void put(const User& user, std::chrono::steady_clock::time_point now);
  void invalidate(std::string_view id);
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::authcore
