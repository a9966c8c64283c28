// What every router handler works with: the config snapshot, the
// authenticator (backends, user store, user cache), the password hasher, the
// verify/reset token keys and the event sink. Owned by AuthApi; handlers run
// on the blocking pool.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authcore/authenticator.hpp"
#include "authcore/password.hpp"
#include "config/config.hpp"
#include "routes/auth_api.hpp"
#include "routes/user_tokens.hpp"

namespace doorman::routes {

struct RouteContext {
  config::ConfigPtr config;
  std::shared_ptr<authcore::Authenticator> authenticator;
  std::shared_ptr<const authcore::PasswordHasher> hasher;
  EventSink events;
  std::shared_ptr<const UserTokens> tokens;

  authcore::UserStore& store() const { return authenticator->store(); }
  // Events inform and never fail the request (DESIGN.md §8): a throwing sink is ignored.
  void fire(std::string name, const authcore::User& user,
            std::optional<std::vector<std::string>> fields = std::nullopt) const;
  // request_verify and forgot_password carry the token the app mails.
  void fire_with_token(std::string name, const authcore::User& user, std::string token) const;

 private:
  void deliver(Event event) const;
};

}  // namespace doorman::routes
