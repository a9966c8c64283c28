// The users router (api-contract.md §7): GET/PATCH {users}/me for the current
// user, GET/PATCH/DELETE {users}/{id} for superusers. One update routine
// serves both PATCHes: "safe" applies password and email, "unsafe" also the
// three flags.
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "authcore/uuid.hpp"
#include "routes/body_fields.hpp"
#include "routes/current_user.hpp"
#include "routes/json_body.hpp"
#include "routes/password_policy.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

namespace {

enum class UpdateScope { safe, unsafe };

HttpAnswer email_exists() { return detail_answer(400, "UPDATE_USER_EMAIL_ALREADY_EXISTS"); }

// UserUpdate validated (step 3 of §1) and applied (step 4) to `before`;
// `gone` is the answer when the row vanished meanwhile. Fires after_update
// with the names of the fields that changed.
HttpAnswer update_user(const RouteContext& context, const JsonBody& body, const authcore::User& before,
                       UpdateScope scope, int gone) {
  const auto object = model_object(body);
  if (const auto* item = std::get_if<Json>(&object)) return validation_answer({*item});
  // In declaration order; explicit null is absent (doorman deviation §15).
  BodyFields fields(*std::get<const Json*>(object));
  const auto password = fields.optional_string("password");
  const auto email = fields.optional_email("email");
  const auto is_active = fields.optional_bool("is_active");
  const auto is_superuser = fields.optional_bool("is_superuser");
  const auto is_verified = fields.optional_bool("is_verified");
  if (!fields.ok()) return validation_answer(fields.errors());

  // Password before email, so a bad password wins when both are bad. Upstream
  // checks the policy against the user as stored (the old email).
  if (password) {
    if (auto reason =
            password_policy_violation(*password, before.email, context.config->users.password_min_length))
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
  if (password)
    after.hashed_password = context.hasher->hash(*password);  // after every check: hashing is the slow part
  if (email_changes) {
    after.email = *email;
    after.is_verified = false;
  }
  if (scope == UpdateScope::unsafe) {
    // Upstream applies the keys in declaration order, so an explicit
    // is_verified wins over the reset an email change made.
    if (is_active) after.is_active = *is_active;
    if (is_superuser) after.is_superuser = *is_superuser;
    if (is_verified) after.is_verified = *is_verified;
  }

  std::vector<std::string> changed;
  if (password) changed.emplace_back("password");
  if (after.email != before.email) changed.emplace_back("email");
  if (after.is_active != before.is_active) changed.emplace_back("is_active");
  if (after.is_superuser != before.is_superuser) changed.emplace_back("is_superuser");
  if (after.is_verified != before.is_verified) changed.emplace_back("is_verified");
  if (!changed.empty()) {
    auto updated = context.store().update(after);
    if (!updated) {
      switch (updated.error()) {
        case authcore::StoreError::duplicate_email:
          return email_exists();
        case authcore::StoreError::not_found:
          return reason_phrase_answer(gone);
        case authcore::StoreError::unavailable:
          return reason_phrase_answer(503);
      }
    }
    after = std::move(updated).value();
    context.authenticator->invalidate(after.id);
  }
  context.fire("after_update", after, std::move(changed));
  return json_answer(200, authcore::user_json(after));
}

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
  return update_user(context, std::get<JsonBody>(read), std::get<CurrentUser>(current).user,
                     UpdateScope::safe,
                     401);  // the current user deleted meanwhile
}

// Upstream's get_user_or_404: an id that does not parse as uuid.UUID, or no such user.
std::variant<authcore::User, HttpAnswer> user_or_404(const RouteContext& context, std::string_view raw_id) {
  const auto id = authcore::parse_uuid(raw_id);
  if (!id) return reason_phrase_answer(404);
  auto found = context.store().find_by_id(*id);
  if (!found) return reason_phrase_answer(503);
  if (!found.value()) return reason_phrase_answer(404);
  return std::move(*found.value());
}

}  // namespace

HttpAnswer handle_users_me(const RouteContext& context, const ApiRequest& request) {
  return request.method == "PATCH" ? patch_me(context, request) : get_me(context, request);
}

HttpAnswer handle_users_id(const RouteContext& context, std::string_view id, const ApiRequest& request) {
  // §1 order: body parsing, the superuser, the {id} lookup, then the body's fields.
  std::optional<JsonBody> body;
  if (request.method == "PATCH") {
    auto read = read_json_body(request.content_type, request.body);
    if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
    body = std::move(std::get<JsonBody>(read));
  }
  auto current = current_user(context, request.credentials, UserLevel::superuser);
  if (auto* answer = std::get_if<HttpAnswer>(&current)) return std::move(*answer);
  auto target = user_or_404(context, id);
  if (auto* answer = std::get_if<HttpAnswer>(&target)) return std::move(*answer);
  const authcore::User& user = std::get<authcore::User>(target);

  if (body) return update_user(context, *body, user, UpdateScope::unsafe, 404);
  if (request.method == "GET") return json_answer(200, authcore::user_json(user));

  // DELETE: before_delete cannot veto (DESIGN.md §8); the store's cascade takes
  // the user's access tokens and OAuth accounts.
  context.fire("before_delete", user);
  auto removed = context.store().remove(user.id);
  if (!removed) return reason_phrase_answer(503);
  context.authenticator->invalidate(user.id);
  if (!removed.value()) return reason_phrase_answer(404);  // deleted meanwhile
  context.fire("after_delete", user);
  return no_content_answer();
}

}  // namespace doorman::routes
