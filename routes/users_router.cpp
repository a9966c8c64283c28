// GET and PATCH {users}/me (api-contract.md §7): the current user, and the
// "safe" update (password and email applied; the flags checked, then ignored).
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "routes/body_fields.hpp"
#include "routes/current_user.hpp"
#include "routes/json_body.hpp"
#include "routes/password_policy.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

namespace {

HttpAnswer email_exists() { return detail_answer(400, "UPDATE_USER_EMAIL_ALREADY_EXISTS"); }

HttpAnswer get_me(const RouteContext& context, const ApiRequest& request) {
  auto current = current_user(context, request.credentials);
  if (auto* answer = std::get_if<HttpAnswer>(&current)) return std::move(*answer);
  return json_answer(200, authcore::user_json(std::get<CurrentUser>(current).user));
}

HttpAnswer patch_me(const RouteContext& context, const ApiRequest& request) {
  // §1 order: body parsing (400/422) before authentication, field validation after it.
  auto read = read_json_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  auto current = current_user(context, request.credentials);
  if (auto* answer = std::get_if<HttpAnswer>(&current)) return std::move(*answer);
  const authcore::User& before = std::get<CurrentUser>(current).user;

  const auto object = model_object(std::get<JsonBody>(read));
  if (const auto* item = std::get_if<Json>(&object)) return validation_answer({*item});
  // UserUpdate, in declaration order; explicit null is absent (doorman deviation §15).
  BodyFields fields(*std::get<const Json*>(object));
  const auto password = fields.optional_string("password");
  const auto email = fields.optional_email("email");
  fields.optional_bool("is_active");
  fields.optional_bool("is_superuser");
  fields.optional_bool("is_verified");
  if (!fields.ok()) return validation_answer(fields.errors());

  // Password before email, so a bad password wins when both are bad. Upstream
  // checks the policy against the user as stored (the old email).
  if (password) {
    if (auto reason = password_policy_violation(*password, before.email, context.config->users.password_min_length))
      return code_reason_answer(400, "UPDATE_USER_INVALID_PASSWORD", *reason);
  }
  const bool email_changes = email && *email != before.email;
  if (email_changes) {
    // Any user with it case-insensitively, this one included: a case-only change is refused.
    auto existing = context.store().find_by_email(*email);
    if (!existing) return reason_phrase_answer(503);
    if (existing.value()) return email_exists();
  }

  authcore::User after = before;
  std::vector<std::string> changed;
  if (password) {
    after.hashed_password = context.hasher->hash(*password);  // after every check: hashing is the slow part
    changed.emplace_back("password");
  }
  if (email_changes) {
    after.email = *email;
    changed.emplace_back("email");
    if (after.is_verified) changed.emplace_back("is_verified");
    after.is_verified = false;
  }
  if (!changed.empty()) {
    auto updated = context.store().update(after);
    if (!updated) {
      switch (updated.error()) {
        case authcore::StoreError::duplicate_email: return email_exists();
        case authcore::StoreError::not_found: return reason_phrase_answer(401);  // deleted meanwhile
        case authcore::StoreError::unavailable: return reason_phrase_answer(503);
      }
    }
    after = std::move(updated).value();
    context.authenticator->invalidate(after.id);
  }
  context.fire("after_update", after, std::move(changed));
  return json_answer(200, authcore::user_json(after));
}

}  // namespace

HttpAnswer handle_users_me(const RouteContext& context, const ApiRequest& request) {
  return request.method == "PATCH" ? patch_me(context, request) : get_me(context, request);
}

}  // namespace doorman::routes
