// The user's public JSON (fastapi-users' BaseUser schema), as Starlette's
// JSONResponse writes it: compact, non-ASCII characters left unescaped.
#include "authcore/user.hpp"

#include <nlohmann/json.hpp>

namespace doorman::authcore {

std::string user_json(const User& user) {
  const nlohmann::ordered_json j = {
      {"id", user.id},
      {"email", user.email},
      {"is_active", user.is_active},
      {"is_superuser", user.is_superuser},
      {"is_verified", user.is_verified},
  };
  // replace: a stored email that is not UTF-8 must not throw on the request path.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace doorman::authcore
