// Email validation and normalisation as pydantic's EmailStr + email-validator
// 2.3 do (api-contract.md §10): returns the normalised address or the reason.
#pragma once

#include <string>
#include <string_view>

#include "authcore/result.hpp"

namespace doorman::authcore {

// Why an address was refused: the email-validator reason sentence, e.g.
// "An email address must have an @-sign." (a struct, so Result's value and error types differ).
struct EmailError {
  std::string reason;
};

Result<std::string, EmailError> normalize_email(std::string_view input);

// ASCII + simple Unicode lower-casing used for case-insensitive comparisons in memory.
std::string lower_email(std::string_view email);

}  // namespace doorman::authcore
