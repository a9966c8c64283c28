// POST {auth}/request-verify-token and {auth}/verify (api-contract.md §6):
// a verify token for an existing, active, unverified user (always 202 null),
// and verifying a user from that token.
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "authcore/uuid.hpp"
#include "routes/body_fields.hpp"
#include "routes/json_body.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

namespace {

HttpAnswer bad_token() { return detail_answer(400, "VERIFY_USER_BAD_TOKEN"); }

}  // namespace

HttpAnswer handle_request_verify_token(const RouteContext& context, const ApiRequest& request) {
  auto looked_up = find_user_by_body_email(context, request);
  if (auto* answer = std::get_if<HttpAnswer>(&looked_up)) return std::move(*answer);
  // Unknown, inactive and already verified users all get the same answer, so
  // the route tells nobody which emails exist.
  const auto& user = std::get<std::optional<authcore::User>>(looked_up);
  if (user && user->is_active && !user->is_verified)
    context.fire_with_token("request_verify", *user, context.tokens->verify_token(*user));
  return null_answer(202);
}

HttpAnswer handle_verify(const RouteContext& context, const ApiRequest& request) {
  auto read = read_json_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  BodyFields fields = BodyFields::embedded(std::get<JsonBody>(read));
  const auto token = fields.required_string("token");
  if (!fields.ok()) return validation_answer(fields.errors());

  // Upstream's order: decode, sub and email present, user by email, sub parses, sub is that user.
  const auto claims = context.tokens->read_verify_token(*token);
  if (!claims || !claims->sub || !claims->email) return bad_token();
  auto found = context.store().find_by_email(*claims->email);
  if (!found) return reason_phrase_answer(503);
  if (!found.value()) return bad_token();
  authcore::User user = std::move(*found.value());
  const auto sub = authcore::parse_uuid(*claims->sub);
  if (!sub || *sub != user.id) return bad_token();  // a token dies when the email changes
  if (user.is_verified) return detail_answer(400, "VERIFY_USER_ALREADY_VERIFIED");

  // is_active is not checked: upstream verifies inactive users too.
  user.is_verified = true;
  auto updated = context.store().update(user);
  if (!updated) {
    if (updated.error() == authcore::StoreError::not_found) return bad_token();  // deleted meanwhile
    return reason_phrase_answer(503);
  }
  context.authenticator->invalidate(user.id);
  context.fire("after_verify", updated.value());
  return json_answer(200, authcore::user_json(updated.value()));
}

}  // namespace doorman::routes
