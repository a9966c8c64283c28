// doorman's password policy (api-contract.md §15), the one fastapi-users'
// docs show in validate_password: a minimum length in code points, and no
// password that contains the user's email. Used by register, reset and PATCH.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace doorman::routes {

// The reason the password is refused, or nullopt. `email` is the user's email
// as upstream passes it: the new (normalised) one on register, the stored one on update.
std::optional<std::string> password_policy_violation(std::string_view password, std::string_view email,
                                                     int min_length);

}  // namespace doorman::routes
