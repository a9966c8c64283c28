// The request policies a reload may replace (DESIGN.md §3, §10): access rules,
// the unauthenticated answer, identity header names and forwarding, published
// as one immutable snapshot. Workers read a generation counter per request and
// copy the snapshot only when it moved, so the hot path pays one relaxed load;
// a request keeps the snapshot it started with until it ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/access_policy.hpp"
#include "proxy/identity_headers.hpp"

namespace doorman::proxy {

struct Runtime;

struct PolicySnapshot {
  // The running config: the startup settings plus the reloaded sections
  // (access, identity_headers, forwarding); read for access.unauthenticated.
  config::ConfigPtr config;
  std::shared_ptr<const AccessPolicy> access;
  std::shared_ptr<const HeaderPolicy> headers;
};

using PolicySnapshotPtr = std::shared_ptr<const PolicySnapshot>;

// Builds both policies from `config`. Throws std::runtime_error (bad regex).
PolicySnapshotPtr build_policy_snapshot(config::ConfigPtr config);

// Where the current snapshot lives. Thread-safe.
class PolicyStore {
 public:
  explicit PolicyStore(PolicySnapshotPtr initial) : current_(std::move(initial)) {}

  // Moves on every publish; a relaxed load is enough because load() takes the mutex.
  std::uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
  // The current snapshot and the generation it belongs to.
  PolicySnapshotPtr load(std::uint64_t& generation) const {
    std::lock_guard lock(mutex_);
    generation = generation_.load(std::memory_order_relaxed);
    return current_;
  }
  void publish(PolicySnapshotPtr next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
    generation_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mutex_;
  PolicySnapshotPtr current_;
  std::atomic<std::uint64_t> generation_{0};
};

// The key paths of settings outside the reloadable sections that differ between
// the running config and `next` (values are never part of the result: secrets).
std::vector<std::string> restart_needed_changes(const config::Config& running, const config::Config& next);

// SIGHUP: re-reads runtime.config->source_path. Invalid: one "reload refused"
// line per error on `err`, nothing changes. Valid: publishes new policies,
// reports every other changed setting as needing a restart (kept). True if published.
bool reload_policies(Runtime& runtime, std::ostream& err);

}  // namespace doorman::proxy
