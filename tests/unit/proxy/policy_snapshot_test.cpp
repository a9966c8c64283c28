// Tests for proxy/policy_snapshot.cpp: the restart-needed comparison names the
// changed key paths (never values), ignores the reloadable sections, and the
// store's generation moves on publish.
#include "proxy/policy_snapshot.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

using doorman::config::AccessLevel;
using doorman::config::BackendConfig;
using doorman::config::Config;
using doorman::proxy::build_policy_snapshot;
using doorman::proxy::PolicyStore;
using doorman::proxy::restart_needed_changes;

namespace {

BackendConfig backend(const char* name) {
  BackendConfig b;
  b.name = name;
  return b;
}

bool has(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

TEST_CASE("equal configs need no restart") {
  Config a;
  a.auth.backends.push_back(backend("jwt"));
  CHECK(restart_needed_changes(a, a).empty());
}

TEST_CASE("reloadable sections are not reported") {
  Config a;
  Config b = a;
  b.access.default_access = AccessLevel::anonymous;
  b.identity_headers.id = "X-Auth-User";
  b.forwarding.forward_credentials = false;
  b.source_path = "other.yaml";
  CHECK(restart_needed_changes(a, b).empty());
}

TEST_CASE("other settings are reported by key path") {
  Config a;
  a.auth.backends.push_back(backend("jwt"));
  Config b = a;
  b.server.listen = "127.0.0.1:9";
  b.secret = "s2";
  b.auth.backends[0].strategy.secret = "s2";
  b.hooks.emplace().url = "http://127.0.0.1:1/e";
  b.routes.register_ = false;
  b.server.busy_poll_us = 50;
  const auto keys = restart_needed_changes(a, b);
  CHECK(keys.size() == 6);
  CHECK(has(keys, "server.busy_poll_us"));
  CHECK(has(keys, "server.listen"));
  CHECK(has(keys, "secret"));
  CHECK(has(keys, "auth.backends[0].strategy.secret"));
  CHECK(has(keys, "hooks"));
  CHECK(has(keys, "routes.register"));
  b.auth.backends.push_back(backend("cookie"));
  CHECK(has(restart_needed_changes(a, b), "auth.backends"));
}

TEST_CASE("publish moves the generation and replaces the snapshot") {
  auto config = std::make_shared<const Config>();
  PolicyStore store(build_policy_snapshot(config));
  std::uint64_t generation = 99;
  const auto first = store.load(generation);
  CHECK(generation == store.generation());
  store.publish(build_policy_snapshot(config));
  CHECK(store.generation() != generation);
  std::uint64_t next = 0;
  CHECK(store.load(next) != first);
  CHECK(next == store.generation());
}
