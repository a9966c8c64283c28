// POST {auth}/forgot-password and {auth}/reset-password (api-contract.md §5):
// a reset token for an existing active user (always 202 null), and setting a
// new password from that token; every failing token step is the same 400.
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "authcore/uuid.hpp"
#include "routes/body_fields.hpp"
#include "routes/json_body.hpp"
#include "routes/password_policy.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

namespace {

HttpAnswer bad_token() { return detail_answer(400, "RESET_PASSWORD_BAD_TOKEN"); }

}  // namespace

HttpAnswer handle_forgot_password(const RouteContext& context, const ApiRequest& request) {
  auto looked_up = find_user_by_body_email(context, request);
  if (auto* answer = std::get_if<HttpAnswer>(&looked_up)) return std::move(*answer);
  // Verified or not; unknown and inactive users get the same answer, no token.
  const auto& user = std::get<std::optional<authcore::User>>(looked_up);
  if (user && user->is_active)
    context.fire_with_token("forgot_password", *user, context.tokens->reset_token(*user, *context.hasher));
  return null_answer(202);
}

HttpAnswer handle_reset_password(const RouteContext& context, const ApiRequest& request) {
  auto read = read_json_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  BodyFields fields = BodyFields::embedded(std::get<JsonBody>(read));
  const auto token = fields.required_string("token");
  const auto password = fields.required_string("password");
  if (!fields.ok()) return validation_answer(fields.errors());

  // Upstream's order: decode, sub and password_fgpt present, sub parses, user
  // exists, fingerprint matches the current hash, user active.
  const auto claims = context.tokens->read_reset_token(*token);
  if (!claims || !claims->sub || !claims->password_fgpt) return bad_token();
  const auto id = authcore::parse_uuid(*claims->sub);
  if (!id) return bad_token();
  auto found = context.store().find_by_id(*id);
  if (!found) return reason_phrase_answer(503);
  if (!found.value()) return bad_token();
  authcore::User user = std::move(*found.value());
  if (!UserTokens::fingerprint_matches(user, *claims->password_fgpt, *context.hasher)) return bad_token();
  if (!user.is_active) return bad_token();

  // Upstream checks the policy against the user as stored.
  if (auto reason =
          password_policy_violation(*password, user.email, context.config->users.password_min_length))
    return code_reason_answer(400, "RESET_PASSWORD_INVALID_PASSWORD", *reason);

  // Neither sessions nor is_verified change; the new salt kills this token.
  user.hashed_password = context.hasher->hash(*password);
  auto updated = context.store().update(user);
  if (!updated) {
    if (updated.error() == authcore::StoreError::not_found) return bad_token();  // deleted meanwhile
    return reason_phrase_answer(503);
  }
  context.authenticator->invalidate(user.id);
  context.fire("after_reset_password", updated.value());
  return null_answer(200);
}

}  // namespace doorman::routes
