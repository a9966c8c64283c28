// Email validation and normalisation as pydantic's EmailStr + email-validator
// 2.3 do (api-contract.md §10): returns the normalised address or the reason.
#pragma once

#include <string>
#include <string_view>

#include "authcore/result.hpp"

namespace doorman::authcore {

// The email-validator reason sentence, e.g. "An email address must have an @-sign."
// (A struct, not a bare string: Result<std::string, std::string> cannot be built.)
struct EmailError {
  std::string reason;
};

Result<std::string, EmailError> normalize_email(std::string_view input);

// ASCII lower-casing, as SQLite's lower() does, for case-insensitive comparisons in memory.
std::string lower_email(std::string_view email);

}  // namespace doorman::authcore
