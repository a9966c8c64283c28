// Everything a running doorman needs, built once from a validated Config:
// store, cache, authenticator, auth API, access and header policies.
#pragma once

#include <memory>
#include <vector>

#include "authcore/authenticator.hpp"
#include "authcore/password.hpp"
#include "authcore/redis_url.hpp"
#include "authcore/token_cache.hpp"
#include "authcore/user_cache.hpp"
#include "authcore/user_store.hpp"
#include "config/config.hpp"
#include "proxy/access_policy.hpp"
#include "proxy/hash_helper.hpp"
#include "proxy/hash_pool.hpp"
#include "proxy/hook_dispatcher.hpp"
#include "proxy/identity_headers.hpp"
#include "proxy/invalidation_bus.hpp"
#include "proxy/policy_snapshot.hpp"
#include "routes/auth_api.hpp"

namespace doorman::proxy {

struct Runtime {
  config::ConfigPtr config;
  std::shared_ptr<authcore::UserStore> store;
  std::shared_ptr<authcore::UserCache> cache;
  std::shared_ptr<authcore::TokenCache> tokens;  // database and Redis tokens; same TTL as `cache`
  std::shared_ptr<authcore::Authenticator> authenticator;
  std::shared_ptr<const authcore::PasswordHasher> hasher;  // hashes in `hash_helper`, else on `hash_pool`
  std::shared_ptr<HashHelper> hash_helper;                 // null when the helper could not start
  std::shared_ptr<HashPool> hash_pool;                     // null when the helper runs
  std::shared_ptr<routes::AuthApi> auth_api;
  // Access and header policies: replaced as a whole on SIGHUP (policy_snapshot.hpp).
  std::shared_ptr<PolicyStore> policies;
  std::shared_ptr<HookDispatcher> hooks;              // null when hooks are disabled
  std::shared_ptr<InvalidationBus> invalidation_bus;  // null without Redis: the cache TTL bounds staleness
  // Every distinct Redis this process depends on (redis strategies, the invalidation bus):
  // /readyz pings each. Empty without Redis.
  std::vector<authcore::RedisEndpoint> redis_endpoints;
};

// The blocking pools' sizes: the database sessions split between the auth API
// and the proxied path's lookups, so auth API threads, even preempted while
// holding a session, can never take every session from the lookups.
struct PoolSizes {
  std::size_t auth_api;
  std::size_t lookups;
};
PoolSizes pool_sizes(const config::Config& config);

// Opens the database (creating the schema on first start) and builds every part.
// Throws std::runtime_error with a one-line message on failure (startup).
std::shared_ptr<Runtime> build_runtime(config::ConfigPtr config);

}  // namespace doorman::proxy
