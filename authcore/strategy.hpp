// A strategy turns a token into a user id and back (fastapi-users: read, write,
// destroy). Adding a strategy is one file and one line in strategy_factory.cpp.
#pragma once

#include <chrono>
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

// What a valid token names: the user, and the moment the token stops naming
// them by itself (nullopt: never; only a logout ends it). Callers that remember
// an answer (the token caches) never serve it at or after `expires_at`; a
// strategy that cannot tell sets it to the time of the read (valid now,
// nothing promised after), so nothing remembers the answer.
struct TokenOwner {
  std::string user_id;
  std::optional<std::chrono::system_clock::time_point> expires_at;

  bool operator==(const TokenOwner&) const = default;
};

// A read: the owner, nullopt when the token names no one, or the store's failure.
using TokenRead = Result<std::optional<TokenOwner>, StrategyError>;

// The user id of a read's owner, if any (for callers that only need the who).
inline std::optional<std::string> user_id_of(const std::optional<TokenOwner>& owner) {
  if (!owner) return std::nullopt;
  return owner->user_id;
}

class Strategy {
 public:
  virtual ~Strategy() = default;
  // True when read() never blocks (JWT: pure CPU). Otherwise callers run read() on the blocking pool.
  virtual bool reads_without_blocking() const = 0;
  // Whom the token names, nullopt when it names no one (never an error for a bad token).
  virtual TokenRead read(std::string_view token) = 0;
  virtual Result<std::string, StrategyError> write(const User& user) = 0;
  virtual Result<bool, StrategyError> destroy(std::string_view token, const User& user) = 0;
};

using StrategyPtr = std::shared_ptr<Strategy>;

}  // namespace doorman::authcore
