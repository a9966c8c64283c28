// VerifiedTokenCache (see verified_token_cache.hpp).
#include "authcore/verified_token_cache.hpp"

#include <atomic>

namespace doorman::authcore {

std::optional<VerifiedTokenCache::Hit> VerifiedTokenCache::find(std::string_view token, std::uint64_t owner,
                                                                std::int64_t now_seconds) {
  const auto it = entries_.find(token);
  if (it == entries_.end() || it->second.owner != owner) return std::nullopt;
  if (now_seconds >= it->second.exp) {
    entries_.erase(it);
    return std::nullopt;
  }
  return Hit{it->second.user_id, it->second.exp};
}

void VerifiedTokenCache::insert(std::string_view token, std::uint64_t owner, std::string_view user_id,
                                std::int64_t exp, std::int64_t now_seconds) {
  if (capacity_ == 0 || now_seconds >= exp) return;
  if (entries_.size() >= capacity_ && entries_.find(token) == entries_.end()) {
    std::erase_if(entries_, [&](const auto& kv) { return now_seconds >= kv.second.exp; });
    // Still full of live tokens: start over rather than pay a scan per insert.
    if (entries_.size() >= capacity_) entries_.clear();
  }
  auto [it, inserted] = entries_.try_emplace(std::string(token));
  it->second.owner = owner;
  it->second.user_id.assign(user_id);
  it->second.exp = exp;
}

VerifiedTokenCache& VerifiedTokenCache::for_this_thread() {
  thread_local VerifiedTokenCache cache;
  return cache;
}

std::uint64_t VerifiedTokenCache::new_owner() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace doorman::authcore
