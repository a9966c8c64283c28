// Walks the configured backends in order (transport extracts, strategy reads,
// user directory resolves); the first active-or-not user found wins. What a
// blocking strategy (database, Redis) read is remembered in the token cache;
// JWTs have their own per-thread cache inside the JWT strategy.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authcore/strategy.hpp"
#include "authcore/token_cache.hpp"
#include "authcore/transport.hpp"
#include "authcore/user.hpp"
#include "authcore/user_cache.hpp"
#include "authcore/user_invalidation.hpp"
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
  UserPtr user;
  std::string token;       // the token that authenticated
  int backend_index = -1;  // which backend yielded the user
};

// A walk over the backends that stops, instead of blocking, where a step needs
// I/O, so a caller can do that step its own way (the proxy: Redis reads on the
// worker's own connection, database work on the blocking pool) and resume.
// Holds views into the credentials: they must outlive the walk.
struct AuthWalk {
  enum class Need {
    decided,     // `outcome` is final
    read_token,  // read `token` with backends[backend_index].strategy, then resume_with_token()
    load_user,   // load `user_id` (Authenticator::load_user), then resume_with_user()
  };
  Need need = Need::decided;
  std::size_t backend_index = 0;
  std::string_view token;              // read_token, load_user: the backend's token
  std::string user_id;                 // load_user
  std::uint64_t token_generation = 0;  // read_token: the token cache's generation before the read
  AuthOutcome outcome;                 // decided

  RequestCredentials credentials;
  bool unavailable = false;  // a store was down on the way: unavailable if no one else decides
};

class Authenticator {
 public:
  // Null caches are disabled ones.
  Authenticator(std::vector<Backend> backends, UserStorePtr store, std::shared_ptr<UserCache> cache,
                std::shared_ptr<TokenCache> tokens = nullptr);

  const std::vector<Backend>& backends() const { return backends_; }
  UserStore& store() { return *store_; }
  UserCache& cache() { return *cache_; }
  TokenCache& tokens() { return *tokens_; }

  // Decides without blocking when it can (every backend up to the deciding one
  // reads without blocking and the user is in the cache); nullopt = would block,
  // call authenticate() on the blocking pool.
  std::optional<AuthOutcome> try_authenticate_without_blocking(const RequestCredentials& credentials);
  // May block (database strategy, user lookup on cache miss).
  AuthOutcome authenticate(const RequestCredentials& credentials);

  // The resumable walk: begin_walk() and both resume_*() run every step that
  // needs no I/O (transports, non-blocking strategies, cache hits) and return
  // with walk.need saying what comes next.
  AuthWalk begin_walk(const RequestCredentials& credentials);
  void resume_with_token(AuthWalk& walk, const TokenRead& read);
  void resume_with_user(AuthWalk& walk, Result<UserPtr, StoreError> user);

  // Loads a user by id through the cache (blocking on miss); null when there is none.
  Result<UserPtr, StoreError> load_user(const std::string& id);
  // Drops a user from the cache after a change made by this process, and
  // announces it to the other replicas when a publisher is set.
  void invalidate(const std::string& id);
  // Forgets a token this process logged out (destroyed) from the token cache,
  // and announces it to the other replicas when a publisher is set.
  void forget_token(std::string_view token);
  // Set once at startup, before any request (not synchronised).
  void set_invalidation_publisher(InvalidationPublisherPtr publisher) { publisher_ = std::move(publisher); }

 private:
  std::vector<Backend> backends_;
  UserStorePtr store_;
  std::shared_ptr<UserCache> cache_;
  std::shared_ptr<TokenCache> tokens_;
  InvalidationPublisherPtr publisher_;  // null: a single replica, or no Redis to announce on

  // Moves the walk on from backend walk.backend_index until it decides or needs I/O.
  void advance(AuthWalk& walk);
  // Takes a strategy's answer for the current backend; true when the walk must go on.
  bool take_user_id(AuthWalk& walk, Result<std::optional<std::string>, StrategyError> user_id);
  void decide(AuthWalk& walk, UserPtr user);
};

// Builds transports and strategies from config (one line per kind).
std::vector<Backend> build_backends(const config::Config& config, UserStorePtr store);

}  // namespace doorman::authcore
