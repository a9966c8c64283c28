// UserCache over a ShardedTtlMap of id -> shared User.
#include "authcore/user_cache.hpp"

#include <utility>

#include "authcore/sharded_ttl_map.hpp"

namespace doorman::authcore {
namespace {

constexpr std::size_t kShards = 16;
// Bounds memory when many users pass once and are never asked for again.
constexpr std::size_t kMaxEntriesPerShard = 4096;

}  // namespace

struct UserCache::Impl {
  std::chrono::milliseconds ttl;
  ShardedTtlMap<UserPtr, kShards> entries{kMaxEntriesPerShard};
};

UserCache::UserCache(std::chrono::milliseconds ttl) : impl_(std::make_unique<Impl>()) { impl_->ttl = ttl; }

UserCache::~UserCache() = default;

bool UserCache::enabled() const { return impl_->ttl.count() > 0; }

UserPtr UserCache::get(std::string_view id, std::chrono::steady_clock::time_point now) const {
  if (!enabled()) return nullptr;
  auto found = impl_->entries.read(id, now, [](const UserPtr& user) { return user; });
  return found ? std::move(*found) : nullptr;
}

std::uint64_t UserCache::generation() const { return impl_->entries.generation(); }

void UserCache::put(UserPtr user, std::chrono::steady_clock::time_point now, std::uint64_t read_generation) {
  if (!enabled() || !user) return;
  const std::string_view id = user->id;
  impl_->entries.put(id, std::move(user), now + impl_->ttl, now, read_generation);
}

void UserCache::invalidate(std::string_view id) { impl_->entries.erase(id); }

void UserCache::clear() { impl_->entries.clear(); }

}  // namespace doorman::authcore
