// POST {auth}/{backend}/login and /logout (api-contract.md §3): the form
// login with its logic order, and logout through the route's own strategy.
#include <string>
#include <utility>
#include <variant>

#include "authcore/password.hpp"
#include "routes/current_user.hpp"
#include "routes/form_body.hpp"
#include "routes/routers.hpp"
#include "routes/validation_error.hpp"

namespace doorman::routes {

namespace {

struct LoginForm {
  std::string username;
  std::string password;
};

// OAuth2PasswordRequestForm: parameters in declaration order grant_type,
// username, password (scope, client_id, client_secret are optional and unused).
// An empty value of a form field counts as absent.
std::variant<LoginForm, HttpAnswer> read_login_form(const ApiRequest& request) {
  auto parsed = read_form_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&parsed)) return std::move(*answer);
  const FormFields& fields = std::get<FormFields>(parsed);

  ValidationItems errors;
  const auto grant_type = form_value(fields, "grant_type");
  if (grant_type && !grant_type->empty() && *grant_type != "password")
    errors.push_back(string_pattern_mismatch_item(body_loc("grant_type"), *grant_type, "^password$"));
  const auto required = [&](std::string_view name) {
    const auto value = form_value(fields, name);
    if (!value || value->empty()) {
      errors.push_back(missing_item(body_loc(name), nullptr));
      return std::string();
    }
    return std::string(*value);
  };
  LoginForm form;
  form.username = required("username");
  form.password = required("password");
  if (!errors.empty()) return validation_answer(errors);
  return form;
}

HttpAnswer bad_credentials() { return detail_answer(400, "LOGIN_BAD_CREDENTIALS"); }

}  // namespace

HttpAnswer handle_login(const RouteContext& context, int backend_index, const ApiRequest& request) {
  auto read = read_login_form(request);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  const LoginForm& form = std::get<LoginForm>(read);

  // The username is looked up as given (not normalised), case-insensitively.
  auto found = context.store().find_by_email(form.username);
  if (!found) return reason_phrase_answer(503);
  if (!found.value()) {
    context.hasher->burn(form.password);  // an unknown user costs what a known one does
    return bad_credentials();
  }
  authcore::User user = std::move(*found.value());

  switch (context.hasher->verify(form.password, user.hashed_password)) {
    case authcore::PasswordCheck::wrong:
    case authcore::PasswordCheck::unknown_format:  // upstream: 500 (doorman deviation, §15)
      return bad_credentials();
    case authcore::PasswordCheck::ok_needs_rehash: {
      // Before the is_active check, as upstream: an inactive user is rehashed too.
      authcore::User rehashed = user;
      rehashed.hashed_password = context.hasher->hash(form.password);
      auto updated = context.store().update(rehashed);
      if (!updated && updated.error() == authcore::StoreError::unavailable) return reason_phrase_answer(503);
      if (updated) user = std::move(updated).value();
      context.authenticator->invalidate(user.id);
      break;
    }
    case authcore::PasswordCheck::ok:
      break;
  }
  if (!user.is_active) return bad_credentials();
  if (context.config->users.requires_verification && !user.is_verified)
    return detail_answer(400, "LOGIN_USER_NOT_VERIFIED");

  const authcore::Backend& backend = context.authenticator->backends().at(backend_index);
  auto token = backend.strategy->write(user);
  if (!token) return reason_phrase_answer(503);
  HttpAnswer answer = backend.transport->login_answer(token.value());
  context.fire("after_login", user);
  return answer;
}

HttpAnswer handle_logout(const RouteContext& context, int backend_index, const ApiRequest& request) {
  auto current = current_user(context, request.credentials);
  if (auto* answer = std::get_if<HttpAnswer>(&current)) return std::move(*answer);
  const CurrentUser& who = std::get<CurrentUser>(current);

  // Upstream quirk kept: this route's strategy destroys the token that
  // authenticated, even when another backend read it.
  const authcore::Backend& backend = context.authenticator->backends().at(backend_index);
  const auto destroyed = backend.strategy->destroy(who.token, who.user);
  if (!destroyed) return reason_phrase_answer(503);
  // A stored token (database row, Redis key) may be in this and other replicas' token caches.
  if (!backend.strategy->reads_without_blocking()) context.authenticator->forget_token(who.token);
  return backend.transport->logout_answer();
}

}  // namespace doorman::routes
