// Builds the Runtime of a doorman process from a validated Config.
#include "proxy/runtime.hpp"

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "authcore/soci_user_store.hpp"

namespace doorman::proxy {
namespace {

// Same server, same database, same credentials: one readiness check covers both users.
bool same_redis(const authcore::RedisEndpoint& a, const authcore::RedisEndpoint& b) {
  return std::tie(a.host, a.port, a.unix_path, a.username, a.password, a.db) ==
         std::tie(b.host, b.port, b.unix_path, b.username, b.password, b.db);
}

void add_redis(std::vector<authcore::RedisEndpoint>& endpoints, authcore::RedisEndpoint endpoint) {
  for (const auto& known : endpoints) {
    if (same_redis(known, endpoint)) return;
  }
  endpoints.push_back(std::move(endpoint));
}

// Password hashing in the hash helper process (hash_helper.hpp); where it
// cannot start, on in-process SCHED_IDLE threads, one per auth API thread, so
// every login in progress hashes at once when CPU is idle.
std::shared_ptr<const authcore::PasswordHasher> build_hasher(Runtime& runtime, std::size_t auth_api_threads) {
  const authcore::PasswordHasherParams params;
  try {
    runtime.hash_helper = std::make_shared<HashHelper>("/proc/self/exe", params);
    return std::make_shared<const authcore::PasswordHasher>(
        params, [helper = runtime.hash_helper](const authcore::HashJob& job) { return helper->run(job); });
  } catch (const std::runtime_error& e) {
    std::cerr << "doorman: " << e.what() << "; hashing passwords on threads of this process\n";
  }
  runtime.hash_pool = std::make_shared<HashPool>(auth_api_threads);
  return std::make_shared<const authcore::PasswordHasher>(
      params,
      [pool = runtime.hash_pool, local = authcore::PasswordHasher(params)](const authcore::HashJob& job) {
        authcore::HashReply reply;
        pool->run([&] { reply = local.compute(job); });
        return reply;
      });
}

}  // namespace

PoolSizes pool_sizes(const config::Config& config) {
  const auto sessions = static_cast<std::size_t>(std::max(2, config.database.pool_size));
  return PoolSizes{sessions / 2, sessions - sessions / 2};
}

std::shared_ptr<Runtime> build_runtime(config::ConfigPtr config) {
  auto runtime = std::make_shared<Runtime>();
  runtime->config = config;

  auto store = std::make_shared<authcore::SociUserStore>(config->database);
  // Tables are created at first start; migrate() is idempotent and never drops data.
  store->migrate();
  runtime->store = store;

  // One TTL for both hot-path caches: users.cache_ttl_ms bounds how stale anything served may be.
  const std::chrono::milliseconds cache_ttl(config->users.cache_ttl_ms);
  runtime->cache = std::make_shared<authcore::UserCache>(cache_ttl);
  runtime->tokens = std::make_shared<authcore::TokenCache>(cache_ttl);
  runtime->authenticator = std::make_shared<authcore::Authenticator>(authcore::build_backends(*config, store),
                                                                     store, runtime->cache, runtime->tokens);
  // Replicas sharing the database tell each other which users changed (serve() starts the listening side);
  // with the cache off every request reads the database, so there is nothing to tell.
  if (auto endpoint = invalidation_endpoint(*config); endpoint && runtime->cache->enabled()) {
    runtime->invalidation_bus =
        std::make_shared<InvalidationBus>(std::move(*endpoint), runtime->cache, runtime->tokens);
    runtime->authenticator->set_invalidation_publisher(runtime->invalidation_bus);
  }
  // The Redis /readyz must see: each redis strategy's (its URL already parsed without error
  // in build_backends), and the invalidation bus's only when the bus runs (cache off: unused).
  for (const auto& backend : config->auth.backends) {
    if (backend.strategy.type != config::StrategyKind::redis) continue;
    if (auto endpoint = authcore::parse_redis_url(backend.strategy.redis_url)) {
      add_redis(runtime->redis_endpoints, std::move(endpoint).value());
    }
  }
  if (runtime->invalidation_bus) {
    if (auto endpoint = invalidation_endpoint(*config))
      add_redis(runtime->redis_endpoints, std::move(*endpoint));
  }
  runtime->hasher = build_hasher(*runtime, pool_sizes(*config).auth_api);
  routes::EventSink events;
  if (config->hooks) {
    runtime->hooks = std::make_shared<HookDispatcher>(*config->hooks);
    events = runtime->hooks->make_event_sink();
  }
  runtime->auth_api =
      std::make_shared<routes::AuthApi>(config, runtime->authenticator, runtime->hasher, std::move(events));
  runtime->policies = std::make_shared<PolicyStore>(build_policy_snapshot(config));
  return runtime;
}

}  // namespace doorman::proxy
