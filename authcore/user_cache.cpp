// UserCache: 16 independently locked shards of id -> (User, expiry), so worker
// threads resolving different users rarely contend on one mutex.
#include "authcore/user_cache.hpp"

#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace doorman::authcore {
namespace {

constexpr std::size_t kShards = 16;
// Bounds memory when many users pass once and are never asked for again.
constexpr std::size_t kMaxEntriesPerShard = 4096;

// Lets lookups by string_view avoid building a std::string on the hot path.
struct IdHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
};

struct Entry {
  User user;
  std::chrono::steady_clock::time_point expires;
};

struct Shard {
  mutable std::mutex mutex;
  std::unordered_map<std::string, Entry, IdHash, std::equal_to<>> entries;
};

}  // namespace

struct UserCache::Impl {
  std::chrono::milliseconds ttl;
  std::array<Shard, kShards> shards;

  Shard& shard_for(std::string_view id) { return shards[IdHash{}(id) % kShards]; }
};

UserCache::UserCache(std::chrono::milliseconds ttl) : impl_(std::make_unique<Impl>()) { impl_->ttl = ttl; }

UserCache::~UserCache() = default;

bool UserCache::enabled() const { return impl_->ttl.count() > 0; }

std::optional<User> UserCache::get(std::string_view id, std::chrono::steady_clock::time_point now) const {
  if (!enabled()) return std::nullopt;
  Shard& shard = impl_->shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.entries.find(id);
  if (it == shard.entries.end()) return std::nullopt;
  if (now >= it->second.expires) {
    shard.entries.erase(it);
    return std::nullopt;
  }
  return it->second.user;
}

void UserCache::put(const User& user, std::chrono::steady_clock::time_point now) {
  if (!enabled()) return;
  Shard& shard = impl_->shard_for(user.id);
  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= kMaxEntriesPerShard && !shard.entries.contains(user.id)) {
    std::erase_if(shard.entries, [&](const auto& kv) { return now >= kv.second.expires; });
    if (shard.entries.size() >= kMaxEntriesPerShard) shard.entries.clear();
  }
  shard.entries.insert_or_assign(user.id, Entry{user, now + impl_->ttl});
}

void UserCache::invalidate(std::string_view id) {
  Shard& shard = impl_->shard_for(id);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.entries.find(id);
  if (it != shard.entries.end()) shard.entries.erase(it);
}

void UserCache::clear() {
  for (auto& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    shard.entries.clear();
  }
}

}  // namespace doorman::authcore
