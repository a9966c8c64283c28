// The user record as stored (fastapi-users' `user` table) and the identity
// derived from it that travels with a request.
#pragma once

#include <memory>
#include <string>

namespace doorman::authcore {

struct User {
  std::string id;  // lowercase hyphenated UUID
  std::string email;
  std::string hashed_password;
  bool is_active = true;
  bool is_superuser = false;
  bool is_verified = false;
};

using UserPtr = std::shared_ptr<const User>;

// {"id","email","is_active","is_superuser","is_verified"} in that order, compact.
std::string user_json(const User& user);

}  // namespace doorman::authcore
