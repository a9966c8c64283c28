// The current active (and, if configured, verified) user; see current_user.hpp.
#include "routes/current_user.hpp"

#include <utility>

namespace doorman::routes {

std::variant<CurrentUser, HttpAnswer> current_user(const RouteContext& context,
                                                   const authcore::RequestCredentials& credentials,
                                                   UserLevel level) {
  authcore::AuthOutcome outcome = context.authenticator->authenticate(credentials);
  if (outcome.status == authcore::AuthStatus::unavailable) return reason_phrase_answer(503);
  if (outcome.status != authcore::AuthStatus::authenticated || !outcome.user)
    return reason_phrase_answer(401);
  // Inactive is checked first and is a 401, as upstream's authenticator does.
  if (!outcome.user->is_active) return reason_phrase_answer(401);
  if (context.config->users.requires_verification && !outcome.user->is_verified)
    return reason_phrase_answer(403);
  if (level == UserLevel::superuser && !outcome.user->is_superuser) return reason_phrase_answer(403);
  return CurrentUser{*outcome.user, std::move(outcome.token), outcome.backend_index};
}

}  // namespace doorman::routes
