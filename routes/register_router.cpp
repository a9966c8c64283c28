// POST {auth}/register (api-contract.md §4): schema (422), password policy,
// existing email, insert with a new UUIDv4, after_register, 201 user.
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

HttpAnswer already_exists() { return detail_answer(400, "REGISTER_USER_ALREADY_EXISTS"); }

}  // namespace

HttpAnswer handle_register(const RouteContext& context, const ApiRequest& request) {
  auto read = read_json_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  const JsonBody& body = std::get<JsonBody>(read);
  const auto object = model_object(body);
  if (const auto* item = std::get_if<Json>(&object)) return validation_answer({*item});

  // UserCreate, in declaration order; the three flags are type-checked, then ignored.
  BodyFields fields(*std::get<const Json*>(object));
  const auto email = fields.required_email("email");
  const auto password = fields.required_string("password");
  fields.optional_bool("is_active");
  fields.optional_bool("is_superuser");
  fields.optional_bool("is_verified");
  if (!fields.ok()) return validation_answer(fields.errors());

  if (auto reason = password_policy_violation(*password, *email, context.config->users.password_min_length))
    return code_reason_answer(400, "REGISTER_INVALID_PASSWORD", *reason);

  auto existing = context.store().find_by_email(*email);
  if (!existing) return reason_phrase_answer(503);
  if (existing.value()) return already_exists();

  authcore::User user;
  user.id = authcore::new_uuid4();
  user.email = *email;
  user.hashed_password = context.hasher->hash(*password);
  user.is_active = true;
  user.is_superuser = false;
  user.is_verified = false;
  auto created = context.store().create(user);
  if (!created) {
    // The unique index settles a concurrent registration of the same email.
    if (created.error() == authcore::StoreError::duplicate_email) return already_exists();
    return reason_phrase_answer(503);
  }
  context.fire("after_register", created.value());
  return json_answer(201, authcore::user_json(created.value()));
}

}  // namespace doorman::routes
