// The verified-token cache: one per thread (DESIGN.md §2, STYLE.md 8), so a JWT
// seen again skips base64, HMAC/signature and JSON parsing on the hot path
// without a lock. It maps the exact token bytes to what verifying them proved
// (the user id and `exp`); an entry is never served at or after its `exp`, and
// only tokens that verified are ever stored, so a forged token costs a full
// verification every time and cannot evict anything but expired entries first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace doorman::authcore {

class VerifiedTokenCache {
 public:
  // `exp` of a token without one: such a token never expires.
  static constexpr std::int64_t kNoExpiry = std::numeric_limits<std::int64_t>::max();
  static constexpr std::size_t kDefaultCapacity = 1024;

  explicit VerifiedTokenCache(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // What a cached verification proved. The view lives until the next insert() or clear().
  struct Hit {
    std::string_view user_id;
    std::int64_t exp;
  };

  // What verifier `owner` proved of `token`, if it still is valid at
  // `now_seconds` (Unix time, whole seconds: a JWT is valid while now < exp).
  std::optional<Hit> find(std::string_view token, std::uint64_t owner, std::int64_t now_seconds);
  // Remembers that `owner` verified `token` as `user_id`, valid until `exp`.
  // A full cache first drops its expired entries, then, if still full, everything.
  void insert(std::string_view token, std::uint64_t owner, std::string_view user_id, std::int64_t exp,
              std::int64_t now_seconds);
  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }

  // This thread's cache (workers and blocking-pool threads each have their own).
  static VerifiedTokenCache& for_this_thread();
  // A fresh verifier identity: entries of a replaced key (a reload) are never served.
  static std::uint64_t new_owner();

 private:
  // Lookups by string_view build no std::string on the hot path.
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view token) const { return std::hash<std::string_view>{}(token); }
  };
  struct Entry {
    std::uint64_t owner;
    std::string user_id;
    std::int64_t exp;
  };

  std::size_t capacity_;
  std::unordered_map<std::string, Entry, TokenHash, std::equal_to<>> entries_;
};

}  // namespace doorman::authcore
