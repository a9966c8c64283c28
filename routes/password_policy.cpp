// The password policy; see password_policy.hpp.
#include "routes/password_policy.hpp"

#include "routes/utf8.hpp"

namespace doorman::routes {

std::optional<std::string> password_policy_violation(std::string_view password, std::string_view email,
                                                     int min_length) {
  // Python's len(password) counts code points, not bytes.
  if (min_length > 0 && count_code_points(password) < static_cast<std::size_t>(min_length))
    return "Password should be at least " + std::to_string(min_length) + " characters";
  // Upstream's `user.email in password`: exact, case-sensitive substring.
  if (!email.empty() && password.find(email) != std::string_view::npos)
    return "Password should not contain e-mail";
  return std::nullopt;
}

}  // namespace doorman::routes
