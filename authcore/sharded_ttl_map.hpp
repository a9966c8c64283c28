// ShardedTtlMap: the storage both hot-path caches share (user cache, token
// cache): string key -> value with a steady-clock expiry, split over
// independently locked shards so worker threads looking up different keys
// rarely contend on one mutex, and bounded per shard so keys seen once and
// never again cannot grow it without limit. Every erase counts as a change
// (generation()): a value read from a store before a change must not be
// stored after it, so put() takes the generation its reader saw.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace doorman::authcore {

template <class Value, std::size_t kShards = 16>
class ShardedTtlMap {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ShardedTtlMap(std::size_t max_entries_per_shard) : max_per_shard_(max_entries_per_shard) {}

  // read(value) under the shard's lock, when `key` is present and fresh at `now`;
  // nullopt otherwise (a stale entry is dropped on the way).
  template <class Read>
  auto read(std::string_view key, Clock::time_point now, Read&& read) const
      -> std::optional<decltype(read(std::declval<const Value&>()))> {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(key);
    if (it == shard.entries.end()) return std::nullopt;
    if (now >= it->second.expires) {
      shard.entries.erase(it);
      return std::nullopt;
    }
    return read(it->second.value);
  }

  // Counts erase(), erase_if() and clear() calls.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Stores `value` under `key` until `expires`, unless something was erased
  // since `read_generation` (checked under the shard's lock, after which no
  // erase of this key can slip in unseen). A full shard first drops its stale
  // entries, then, if still full, everything: cheaper than an LRU, and a cache
  // emptied now and then costs one store read per key.
  void put(std::string_view key, Value value, Clock::time_point expires, Clock::time_point now,
           std::uint64_t read_generation) {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    if (generation() != read_generation) return;
    auto it = shard.entries.find(key);
    if (it == shard.entries.end()) {
      if (shard.entries.size() >= max_per_shard_) {
        std::erase_if(shard.entries, [&](const auto& kv) { return now >= kv.second.expires; });
        if (shard.entries.size() >= max_per_shard_) shard.entries.clear();
      }
      it = shard.entries.emplace(std::string(key), Entry{}).first;
    }
    it->second = Entry{std::move(value), expires};
  }

  void erase(std::string_view key) {
    changed();
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(key);
    if (it != shard.entries.end()) shard.entries.erase(it);
  }

  // Drops every entry whose value satisfies `pred` (a scan of every shard).
  template <class Pred>
  void erase_if(Pred&& pred) {
    changed();
    for (auto& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      std::erase_if(shard.entries, [&](const auto& kv) { return pred(kv.second.value); });
    }
  }

  void clear() {
    changed();
    for (auto& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      shard.entries.clear();
    }
  }

  std::size_t size() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      total += shard.entries.size();
    }
    return total;
  }

 private:
  // Lookups by string_view build no std::string on the hot path.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct Entry {
    Value value;
    Clock::time_point expires;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
  };

  Shard& shard_for(std::string_view key) const { return shards_[KeyHash{}(key) % kShards]; }
  // Before erasing: a put() whose reader started earlier then sees the change.
  void changed() { generation_.fetch_add(1, std::memory_order_acq_rel); }

  std::size_t max_per_shard_;
  std::atomic<std::uint64_t> generation_{0};
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace doorman::authcore
