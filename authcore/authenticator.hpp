// Walks the configured backends in order (transport extracts, strategy reads,
// user directory resolves); the first active-or-not user found wins.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authcore/strategy.hpp"
#include "authcore/transport.hpp"
#include "authcore/user.hpp"
#include "authcore/user_cache.hpp"
#include "authcore/user_store.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

struct Backend {
  std::string name;
  TransportPtr transport;
  StrategyPtr strategy;
};

enum class AuthStatus {
  authenticated,  // user set (may be inactive: the caller decides)
  no_user,        // no backend yielded a user
  unavailable,    // a store needed to decide was down: 503
};

struct AuthOutcome {
  AuthStatus status = AuthStatus::no_user;
  std::optional<User> user;
  std::string token;             // the token that authenticated
  int backend_index = -1;        // which backend yielded the user
};

class Authenticator {
 public:
  Authenticator(std::vector<Backend> backends, UserStorePtr store, std::shared_ptr<UserCache> cache);

  const std::vector<Backend>& backends() const { return backends_; }
  UserStore& store() { return *store_; }
  UserCache& cache() { return *cache_; }

  // Decides without blocking when it can (every backend up to the deciding one
  // reads without blocking and the user is in the cache); nullopt = would block,
  // call authenticate() on the blocking pool.
  std::optional<AuthOutcome> try_authenticate_without_blocking(const RequestCredentials& credentials);
  // May block (database strategy, user lookup on cache miss).
  AuthOutcome authenticate(const RequestCredentials& credentials);

  // Loads a user by id through the cache (blocking on miss).
  Result<std::optional<User>, StoreError> load_user(const std::string& id);
  // Drops a user from the cache after a change made by this process.
  void invalidate(const std::string& id);

 private:
  std::vector<Backend> backends_;
  UserStorePtr store_;
  std::shared_ptr<UserCache> cache_;
};

// Builds transports and strategies from config (one line per kind).
std::vector<Backend> build_backends(const config::Config& config, UserStorePtr store);

}  // namespace doorman::authcore
