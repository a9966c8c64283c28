// find_user_by_body_email: the body read and user lookup that forgot-password
// and request-verify-token share.
#include "routes/body_fields.hpp"
#include "routes/json_body.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

std::variant<std::optional<authcore::User>, HttpAnswer> find_user_by_body_email(const RouteContext& context,
                                                                                const ApiRequest& request) {
  auto read = read_json_body(request.content_type, request.body);
  if (auto* answer = std::get_if<HttpAnswer>(&read)) return std::move(*answer);
  BodyFields fields = BodyFields::embedded(std::get<JsonBody>(read));
  const auto email = fields.required_email("email");
  if (!fields.ok()) return validation_answer(fields.errors());
  auto found = context.store().find_by_email(*email);
  if (!found) return reason_phrase_answer(503);
  return std::move(found.value());
}

}  // namespace doorman::routes
