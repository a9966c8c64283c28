// A strategy turns a token into a user id and back (fastapi-users: read, write,
// destroy). Adding a strategy is one file and one line in strategy_factory.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authcore/result.hpp"
#include "authcore/user.hpp"

namespace doorman::authcore {

enum class StrategyError {
  unavailable,  // the store behind it is down: 503 for what needs it
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // True when read() never blocks (JWT: pure CPU). Otherwise callers run read() on the blocking pool.
  virtual bool reads_without_blocking() const = 0;
  // The user id the token names, nullopt when it names none (never an error for a bad token).
  virtual Result<std::optional<std::string>, StrategyError> read(std::string_view token) = 0;
  virtual Result<std::string, StrategyError> write(const User& user) = 0;
  virtual Result<bool, StrategyError> destroy(std::string_view token, const User& user) = 0;
};

using StrategyPtr = std::shared_ptr<Strategy>;

}  // namespace doorman::authcore
