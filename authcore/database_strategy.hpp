// DatabaseStrategy: opaque tokens in the `accesstoken` table (fastapi-users'
// DatabaseStrategy with SQLAlchemyAccessTokenDatabase); every read queries the store.
#pragma once

#include <optional>

#include "authcore/strategy.hpp"
#include "authcore/user_store.hpp"

namespace doorman::authcore {

class DatabaseStrategy final : public Strategy {
 public:
  // lifetime: null or 0 = tokens never expire (upstream's `if lifetime_seconds:`).
  DatabaseStrategy(UserStorePtr store, std::optional<int> lifetime_seconds);

  bool reads_without_blocking() const override { return false; }
  TokenRead read(std::string_view token) override;
  Result<std::string, StrategyError> write(const User& user) override;
  Result<bool, StrategyError> destroy(std::string_view token, const User& user) override;

 private:
  UserStorePtr store_;
  std::optional<int> lifetime_seconds_;
};

}  // namespace doorman::authcore
