// DatabaseStrategy: token rows created at login, found within the lifetime, deleted at logout.
#include "authcore/database_strategy.hpp"

#include <chrono>
#include <utility>

#include "authcore/random_token.hpp"

namespace doorman::authcore {

DatabaseStrategy::DatabaseStrategy(UserStorePtr store, std::optional<int> lifetime_seconds)
    : store_(std::move(store)), lifetime_seconds_(lifetime_seconds) {}

TokenRead DatabaseStrategy::read(std::string_view token) {
  // Anything else (a JWT sent to the wrong backend, garbage) cannot be a row: spare the database.
  if (!looks_like_opaque_token(token)) return std::optional<TokenOwner>();
  const auto now = std::chrono::system_clock::now();
  std::optional<std::chrono::system_clock::time_point> not_before;
  if (lifetime_seconds_.value_or(0) != 0) not_before = now - std::chrono::seconds(*lifetime_seconds_);
  auto found = store_->find_access_token(std::string(token), not_before);
  if (!found) return StrategyError::unavailable;
  if (!found.value()) return std::optional<TokenOwner>();
  AccessTokenRecord& row = *found.value();
  TokenOwner owner{std::move(row.user_id), std::nullopt};
  if (not_before) {
    // The row is valid while created_at >= now - lifetime, i.e. until created_at + lifetime.
    owner.expires_at = row.created_at ? *row.created_at + std::chrono::seconds(*lifetime_seconds_) : now;
  }
  return std::optional<TokenOwner>(std::move(owner));
}

Result<std::string, StrategyError> DatabaseStrategy::write(const User& user) {
  std::string token = new_opaque_token();
  if (!store_->insert_access_token(token, user.id, std::chrono::system_clock::now())) {
    return StrategyError::unavailable;
  }
  return token;
}

Result<bool, StrategyError> DatabaseStrategy::destroy(std::string_view token, const User&) {
  const auto deleted = store_->delete_access_token(std::string(token));
  if (!deleted) return StrategyError::unavailable;
  return deleted.value();
}

}  // namespace doorman::authcore
