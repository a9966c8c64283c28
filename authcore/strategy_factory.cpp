// build_backends: config -> (transport, strategy) per backend. Adding a
// transport or strategy kind is one line here.
#include <stdexcept>

#include "authcore/authenticator.hpp"
#include "authcore/bearer_transport.hpp"
#include "authcore/cookie_transport.hpp"
#include "authcore/database_strategy.hpp"
#include "authcore/jwt_strategy.hpp"
#include "authcore/redis_strategy.hpp"

namespace doorman::authcore {
namespace {

TransportPtr make_transport(const config::TransportConfig& config) {
  switch (config.type) {
    case config::TransportKind::bearer:
      return std::make_shared<BearerTransport>();
    case config::TransportKind::cookie:
      return std::make_shared<CookieTransport>(config);
  }
  throw std::logic_error("unknown transport type");
}

StrategyPtr make_strategy(const config::StrategyConfig& config, const UserStorePtr& store) {
  switch (config.type) {
    case config::StrategyKind::jwt:
      return std::make_shared<JwtStrategy>(config);
    case config::StrategyKind::database:
      return std::make_shared<DatabaseStrategy>(store, config.lifetime_seconds);
    case config::StrategyKind::redis:
      return make_redis_strategy(config);
  }
  throw std::logic_error("unknown strategy type");
}

}  // namespace

std::vector<Backend> build_backends(const config::Config& config, UserStorePtr store) {
  std::vector<Backend> backends;
  backends.reserve(config.auth.backends.size());
  for (const auto& backend : config.auth.backends) {
    backends.push_back(
        Backend{backend.name, make_transport(backend.transport), make_strategy(backend.strategy, store)});
  }
  return backends;
}

}  // namespace doorman::authcore
