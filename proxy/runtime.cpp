// Builds the Runtime of a doorman process from a validated Config.
#include "proxy/runtime.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

#include "authcore/soci_user_store.hpp"

namespace doorman::proxy {

std::shared_ptr<Runtime> build_runtime(config::ConfigPtr config) {
  auto runtime = std::make_shared<Runtime>();
  runtime->config = config;

  auto store = std::make_shared<authcore::SociUserStore>(config->database);
  // Tables are created at first start; migrate() is idempotent and never drops data.
  store->migrate();
  runtime->store = store;

  runtime->cache = std::make_shared<authcore::UserCache>(std::chrono::milliseconds(config->users.cache_ttl_ms));
  runtime->authenticator = std::make_shared<authcore::Authenticator>(authcore::build_backends(*config, store),
                                                                     store, runtime->cache);
  // Replicas sharing the database tell each other which users changed (serve() starts the listening side);
  // with the cache off every request reads the database, so there is nothing to tell.
  if (auto endpoint = invalidation_endpoint(*config); endpoint && runtime->cache->enabled()) {
    runtime->invalidation_bus = std::make_shared<InvalidationBus>(std::move(*endpoint), runtime->cache);
    runtime->authenticator->set_invalidation_publisher(runtime->invalidation_bus);
  }
  runtime->hasher = std::make_shared<const authcore::PasswordHasher>();
  routes::EventSink events;
  if (config->hooks) {
    runtime->hooks = std::make_shared<HookDispatcher>(*config->hooks);
    events = runtime->hooks->make_event_sink();
  }
  runtime->auth_api =
      std::make_shared<routes::AuthApi>(config, runtime->authenticator, runtime->hasher, std::move(events));
  runtime->access_policy = std::make_shared<const AccessPolicy>(config->access);
  runtime->header_policy = std::make_shared<const HeaderPolicy>(*config);
  return runtime;
}

}  // namespace doorman::proxy
