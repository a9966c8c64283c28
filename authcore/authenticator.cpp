// Authenticator: fastapi-users' walk over the backends (first user wins), once
// blocking and once as a non-blocking fast path for the proxy's workers.
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
        return AuthOutcome{AuthStatus::authenticated, std::move(user), std::string(*token), static_cast<int>(i)};
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

Authenticator::Authenticator(std::vector<Backend> backends, UserStorePtr store, std::shared_ptr<UserCache> cache)
    : backends_(std::move(backends)),
      store_(std::move(store)),
      cache_(cache ? std::move(cache) : std::make_shared<UserCache>(std::chrono::milliseconds(0))) {}

std::optional<AuthOutcome> Authenticator::try_authenticate_without_blocking(const RequestCredentials& credentials) {
  const auto now = std::chrono::steady_clock::now();
  return walk(backends_, credentials, [&](const Backend& backend, std::string_view token, std::optional<User>& user) {
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
  return *walk(backends_, credentials, [&](const Backend& backend, std::string_view token, std::optional<User>& user) {
    const auto id = backend.strategy->read(token);
    if (!id) return Step::unavailable;
    if (!id.value()) return Step::none;
    auto loaded = load_user(*id.value());
    if (!loaded) return Step::unavailable;
    user = std::move(loaded.value());
    return user ? Step::found : Step::none;
  });
}

Result<std::optional<User>, StoreError> Authenticator::load_user(const std::string& id) {
  if (auto cached = cache_->get(id, std::chrono::steady_clock::now())) return std::optional<User>(std::move(cached));
  auto found = store_->find_by_id(id);
  if (found && found.value()) cache_->put(*found.value(), std::chrono::steady_clock::now());
  return found;
}

void Authenticator::invalidate(const std::string& id) { cache_->invalidate(id); }

}  // namespace doorman::authcore
