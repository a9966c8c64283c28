// TokenCache over a ShardedTtlMap keyed by the token's bytes; each entry keeps
// the token's digest so an announced logout finds it without the token.
#include "authcore/token_cache.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include "authcore/sharded_ttl_map.hpp"

namespace doorman::authcore {
namespace {

constexpr std::size_t kShards = 16;

struct Remembered {
  std::size_t backend = 0;
  std::string user_id;
  TokenCache::Digest digest{};
};

}  // namespace

struct TokenCache::Impl {
  Impl(std::chrono::milliseconds t, std::size_t capacity)
      : ttl(t), entries(std::max<std::size_t>(1, capacity / kShards)) {}

  std::chrono::milliseconds ttl;
  ShardedTtlMap<Remembered, kShards> entries;
};

TokenCache::TokenCache(std::chrono::milliseconds ttl, std::size_t capacity)
    : impl_(std::make_unique<Impl>(ttl, capacity)) {}

TokenCache::~TokenCache() = default;

bool TokenCache::enabled() const { return impl_->ttl.count() > 0; }

std::optional<std::string> TokenCache::find(std::size_t backend, std::string_view token,
                                            std::chrono::steady_clock::time_point now) const {
  if (!enabled()) return std::nullopt;
  auto found = impl_->entries.read(token, now, [&](const Remembered& r) -> std::optional<std::string> {
    if (r.backend != backend) return std::nullopt;
    return r.user_id;
  });
  if (!found) return std::nullopt;
  return std::move(*found);
}

std::uint64_t TokenCache::generation() const { return impl_->entries.generation(); }

void TokenCache::put(std::size_t backend, std::string_view token, const TokenOwner& owner,
                     std::uint64_t read_generation, std::chrono::steady_clock::time_point now,
                     std::chrono::system_clock::time_point wall_now) {
  if (!enabled()) return;
  auto expires = now + impl_->ttl;
  if (owner.expires_at) {
    // The token's own end, moved onto the steady clock the entries live on.
    if (*owner.expires_at <= wall_now) return;
    const auto left = *owner.expires_at - wall_now;
    if (left < impl_->ttl)
      expires = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
  }
  impl_->entries.put(token, Remembered{backend, owner.user_id, digest_of(token)}, expires, now,
                     read_generation);
}

void TokenCache::forget(std::string_view token) { impl_->entries.erase(token); }

void TokenCache::forget(const Digest& digest) {
  impl_->entries.erase_if([&](const Remembered& r) { return r.digest == digest; });
}

void TokenCache::clear() { impl_->entries.clear(); }

std::size_t TokenCache::size() const { return impl_->entries.size(); }

TokenCache::Digest TokenCache::digest_of(std::string_view token) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace doorman::authcore
