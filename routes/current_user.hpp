// The current user of a protected route (api-contract.md §8): found through
// all backends in order; 401 when none or inactive, 403 when verification is
// required and missing or a superuser is required and this is not one, 503
// when a store needed to decide is down.
#pragma once

#include <string>
#include <variant>

#include "authcore/transport.hpp"
#include "authcore/user.hpp"
#include "routes/answers.hpp"
#include "routes/route_context.hpp"

namespace doorman::routes {

struct CurrentUser {
  authcore::User user;
  std::string token;       // the token that authenticated
  int backend_index = -1;  // the backend that read it
};

enum class UserLevel { active, superuser };

std::variant<CurrentUser, HttpAnswer> current_user(const RouteContext& context,
                                                   const authcore::RequestCredentials& credentials,
                                                   UserLevel level = UserLevel::active);

}  // namespace doorman::routes
