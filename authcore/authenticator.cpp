// Authenticator: fastapi-users' walk over the backends (first user wins), once
// blocking, once as a non-blocking fast path for the proxy's workers, and once
// resumable (AuthWalk) for callers that do the I/O steps asynchronously.
#include "authcore/authenticator.hpp"

#include <utility>

namespace doorman::authcore {
namespace {

// What resolving one backend's token gave.
enum class Step {
  found,        // `user` is set
  none,         // this backend names no user: try the next
  unavailable,  // a store was down: try the next, report it if no one else decides
  would_block,  // the non-blocking walk must give up
};

// The walk both entry points share; `resolve(backend, token, user)` reads the
// token and loads the user its own way.
template <class Resolve>
std::optional<AuthOutcome> walk(const std::vector<Backend>& backends, const RequestCredentials& credentials,
                                Resolve&& resolve) {
  bool unavailable = false;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const Backend& backend = backends[i];
    const auto token = backend.transport->extract(credentials);
    if (!token) continue;
    std::optional<User> user;
    switch (resolve(backend, *token, user)) {
      case Step::found:
        return AuthOutcome{AuthStatus::authenticated, std::move(user), std::string(*token),
                           static_cast<int>(i)};
      case Step::none:
        break;
      case Step::unavailable:
        unavailable = true;
        break;
      case Step::would_block:
        return std::nullopt;
    }
  }
  AuthOutcome outcome;
  outcome.status = unavailable ? AuthStatus::unavailable : AuthStatus::no_user;
  return outcome;
}

}  // namespace

Authenticator::Authenticator(std::vector<Backend> backends, UserStorePtr store,
                             std::shared_ptr<UserCache> cache)
    : backends_(std::move(backends)),
      store_(std::move(store)),
      cache_(cache ? std::move(cache) : std::make_shared<UserCache>(std::chrono::milliseconds(0))) {}

std::optional<AuthOutcome> Authenticator::try_authenticate_without_blocking(
    const RequestCredentials& credentials) {
  const auto now = std::chrono::steady_clock::now();
  return walk(backends_, credentials,
              [&](const Backend& backend, std::string_view token, std::optional<User>& user) {
                if (!backend.strategy->reads_without_blocking()) return Step::would_block;
                const auto id = backend.strategy->read(token);
                if (!id) return Step::unavailable;
                if (!id.value()) return Step::none;
                user = cache_->get(*id.value(), now);
                return user ? Step::found : Step::would_block;
              });
}

AuthOutcome Authenticator::authenticate(const RequestCredentials& credentials) {
  // The blocking resolver never answers would_block, so the walk always decides.
  return *walk(backends_, credentials,
               [&](const Backend& backend, std::string_view token, std::optional<User>& user) {
                 const auto id = backend.strategy->read(token);
                 if (!id) return Step::unavailable;
                 if (!id.value()) return Step::none;
                 auto loaded = load_user(*id.value());
                 if (!loaded) return Step::unavailable;
                 user = std::move(loaded.value());
                 return user ? Step::found : Step::none;
               });
}

AuthWalk Authenticator::begin_walk(const RequestCredentials& credentials) {
  AuthWalk walk;
  walk.credentials = credentials;
  advance(walk);
  return walk;
}

void Authenticator::advance(AuthWalk& walk) {
  for (; walk.backend_index < backends_.size(); ++walk.backend_index) {
    const Backend& backend = backends_[walk.backend_index];
    const auto token = backend.transport->extract(walk.credentials);
    if (!token) continue;
    walk.token = *token;
    if (!backend.strategy->reads_without_blocking()) {
      walk.need = AuthWalk::Need::read_token;
      return;
    }
    if (!take_user_id(walk, backend.strategy->read(*token))) return;
  }
  walk.need = AuthWalk::Need::decided;
  walk.outcome = AuthOutcome{};
  walk.outcome.status = walk.unavailable ? AuthStatus::unavailable : AuthStatus::no_user;
}

bool Authenticator::take_user_id(AuthWalk& walk, Result<std::optional<std::string>, StrategyError> user_id) {
  if (!user_id) {
    walk.unavailable = true;
    return true;
  }
  if (!user_id.value()) return true;
  if (auto cached = cache_->get(*user_id.value(), std::chrono::steady_clock::now())) {
    decide(walk, std::move(cached));
    return false;
  }
  walk.need = AuthWalk::Need::load_user;
  walk.user_id = std::move(*user_id.value());
  return false;
}

void Authenticator::decide(AuthWalk& walk, std::optional<User> user) {
  walk.need = AuthWalk::Need::decided;
  walk.outcome = AuthOutcome{AuthStatus::authenticated, std::move(user), std::string(walk.token),
                             static_cast<int>(walk.backend_index)};
}

void Authenticator::resume_with_token(AuthWalk& walk,
                                      Result<std::optional<std::string>, StrategyError> user_id) {
  if (walk.need != AuthWalk::Need::read_token) return;
  if (!take_user_id(walk, std::move(user_id))) return;
  ++walk.backend_index;
  advance(walk);
}

void Authenticator::resume_with_user(AuthWalk& walk, Result<std::optional<User>, StoreError> user) {
  if (walk.need != AuthWalk::Need::load_user) return;
  if (user && user.value()) {
    decide(walk, std::move(user.value()));
    return;
  }
  if (!user) walk.unavailable = true;
  ++walk.backend_index;
  advance(walk);
}

Result<std::optional<User>, StoreError> Authenticator::load_user(const std::string& id) {
  if (auto cached = cache_->get(id, std::chrono::steady_clock::now()))
    return std::optional<User>(std::move(cached));
  auto found = store_->find_by_id(id);
  if (found && found.value()) cache_->put(*found.value(), std::chrono::steady_clock::now());
  return found;
}

void Authenticator::invalidate(const std::string& id) {
  cache_->invalidate(id);
  if (publisher_) publisher_->publish(id);
}

}  // namespace doorman::authcore
