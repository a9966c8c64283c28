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

// The walk both entry points share; `resolve(index, token, user)` reads the
// token with backends[index] and loads the user its own way.
template <class Resolve>
std::optional<AuthOutcome> walk(const std::vector<Backend>& backends, const RequestCredentials& credentials,
                                Resolve&& resolve) {
  bool unavailable = false;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const Backend& backend = backends[i];
    const auto token = backend.transport->extract(credentials);
    if (!token) continue;
    UserPtr user;
    switch (resolve(i, *token, user)) {
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

// What backends[index] once read `token` to name, from the token cache
// (blocking strategies only: a JWT's own cache is inside its strategy).
std::optional<std::string> remembered(const std::vector<Backend>& backends, std::size_t index,
                                      std::string_view token, const TokenCache& tokens) {
  if (backends[index].strategy->reads_without_blocking()) return std::nullopt;
  return tokens.find(index, token, std::chrono::steady_clock::now());
}

// The user id a read names; a blocking strategy's answer is kept in the token
// cache on the way, unless a logout overtook the read (`read_generation`).
Result<std::optional<std::string>, StrategyError> note_read(const std::vector<Backend>& backends,
                                                            std::size_t index, std::string_view token,
                                                            const TokenRead& read,
                                                            std::uint64_t read_generation,
                                                            TokenCache& tokens) {
  if (!read) return read.error();
  if (!read.value()) return std::optional<std::string>();
  if (!backends[index].strategy->reads_without_blocking()) {
    tokens.put(index, token, *read.value(), read_generation, std::chrono::steady_clock::now(),
               std::chrono::system_clock::now());
  }
  return std::optional<std::string>(read.value()->user_id);
}

// Step::found sets `id`: from the token cache, or read now when the strategy
// reads without blocking or the caller may block.
Step user_id_for(const std::vector<Backend>& backends, std::size_t index, std::string_view token,
                 bool may_block, TokenCache& tokens, std::optional<std::string>& id) {
  id = remembered(backends, index, token, tokens);
  if (id) return Step::found;
  Strategy& strategy = *backends[index].strategy;
  if (!may_block && !strategy.reads_without_blocking()) return Step::would_block;
  const std::uint64_t generation = tokens.generation();
  auto read = note_read(backends, index, token, strategy.read(token), generation, tokens);
  if (!read) return Step::unavailable;
  if (!read.value()) return Step::none;
  id = std::move(read.value());
  return Step::found;
}

}  // namespace

Authenticator::Authenticator(std::vector<Backend> backends, UserStorePtr store,
                             std::shared_ptr<UserCache> cache, std::shared_ptr<TokenCache> tokens)
    : backends_(std::move(backends)),
      store_(std::move(store)),
      cache_(cache ? std::move(cache) : std::make_shared<UserCache>(std::chrono::milliseconds(0))),
      tokens_(tokens ? std::move(tokens) : std::make_shared<TokenCache>(std::chrono::milliseconds(0))) {}

std::optional<AuthOutcome> Authenticator::try_authenticate_without_blocking(
    const RequestCredentials& credentials) {
  const auto now = std::chrono::steady_clock::now();
  return walk(backends_, credentials, [&](std::size_t index, std::string_view token, UserPtr& user) {
    std::optional<std::string> id;
    if (const Step step = user_id_for(backends_, index, token, /*may_block=*/false, *tokens_, id);
        step != Step::found)
      return step;
    user = cache_->get(*id, now);
    return user ? Step::found : Step::would_block;
  });
}

AuthOutcome Authenticator::authenticate(const RequestCredentials& credentials) {
  // The blocking resolver never answers would_block, so the walk always decides.
  return *walk(backends_, credentials, [&](std::size_t index, std::string_view token, UserPtr& user) {
    std::optional<std::string> id;
    if (const Step step = user_id_for(backends_, index, token, /*may_block=*/true, *tokens_, id);
        step != Step::found)
      return step;
    auto loaded = load_user(*id);
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
    if (backend.strategy->reads_without_blocking()) {
      if (!take_user_id(walk, note_read(backends_, walk.backend_index, *token, backend.strategy->read(*token),
                                        tokens_->generation(), *tokens_)))
        return;
      continue;
    }
    if (auto id = remembered(backends_, walk.backend_index, *token, *tokens_)) {
      if (!take_user_id(walk, std::move(id))) return;
      continue;
    }
    walk.need = AuthWalk::Need::read_token;
    walk.token_generation = tokens_->generation();
    return;
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

void Authenticator::decide(AuthWalk& walk, UserPtr user) {
  walk.need = AuthWalk::Need::decided;
  walk.outcome = AuthOutcome{AuthStatus::authenticated, std::move(user), std::string(walk.token),
                             static_cast<int>(walk.backend_index)};
}

void Authenticator::resume_with_token(AuthWalk& walk, const TokenRead& read) {
  if (walk.need != AuthWalk::Need::read_token) return;
  if (!take_user_id(
          walk, note_read(backends_, walk.backend_index, walk.token, read, walk.token_generation, *tokens_)))
    return;
  ++walk.backend_index;
  advance(walk);
}

void Authenticator::resume_with_user(AuthWalk& walk, Result<UserPtr, StoreError> user) {
  if (walk.need != AuthWalk::Need::load_user) return;
  if (user && user.value()) {
    decide(walk, std::move(user.value()));
    return;
  }
  if (!user) walk.unavailable = true;
  ++walk.backend_index;
  advance(walk);
}

Result<UserPtr, StoreError> Authenticator::load_user(const std::string& id) {
  if (auto cached = cache_->get(id, std::chrono::steady_clock::now())) return cached;
  const std::uint64_t generation = cache_->generation();  // before the read: see UserCache::put
  auto found = store_->find_by_id(id);
  if (!found) return found.error();
  if (!found.value()) return UserPtr();
  auto user = std::make_shared<const User>(std::move(*found.value()));
  cache_->put(user, std::chrono::steady_clock::now(), generation);
  return user;
}

void Authenticator::invalidate(const std::string& id) {
  cache_->invalidate(id);
  if (publisher_) publisher_->publish(id);
}

void Authenticator::forget_token(std::string_view token) {
  tokens_->forget(token);
  if (publisher_) publisher_->publish_token_revoked(TokenCache::digest_of(token));
}

}  // namespace doorman::authcore
