// AuthApi: owns the route table and the handlers' context, matches requests
// and dispatches a matched RouteId to its router; see auth_api.hpp.
#include "routes/auth_api.hpp"

#include "routes/answers.hpp"
#include "routes/openapi.hpp"
#include "routes/route_context.hpp"
#include "routes/route_table.hpp"
#include "routes/routers.hpp"

namespace doorman::routes {

struct AuthApi::Impl {
  RouteContext context;
  RouteTable table;
  std::string openapi_json;  // built once: the table and config never change for this AuthApi
};

AuthApi::AuthApi(config::ConfigPtr config, std::shared_ptr<authcore::Authenticator> authenticator,
                 std::shared_ptr<const authcore::PasswordHasher> hasher, EventSink events)
    : impl_(std::make_unique<Impl>(
          Impl{RouteContext{config, std::move(authenticator), std::move(hasher), std::move(events),
                            std::make_shared<const UserTokens>(config->users)},
               RouteTable(*config), std::string()})) {
  impl_->openapi_json = dump_json(openapi_document(impl_->table, *config));
}

AuthApi::~AuthApi() = default;

RouteMatch AuthApi::match(std::string_view method, std::string_view path) const {
  return impl_->table.match(method, path);
}

HttpAnswer AuthApi::handle(const RouteMatch& match, const ApiRequest& request) {
  if (match.kind != RouteMatch::Kind::route) return answer_non_route(match, request.query);
  const RouteContext& context = impl_->context;
  switch (match.route) {
    case RouteId::login:
      return handle_login(context, match.backend_index, request);
    case RouteId::logout:
      return handle_logout(context, match.backend_index, request);
    case RouteId::register_:
      return handle_register(context, request);
    case RouteId::forgot_password:
      return handle_forgot_password(context, request);
    case RouteId::reset_password:
      return handle_reset_password(context, request);
    case RouteId::request_verify_token:
      return handle_request_verify_token(context, request);
    case RouteId::verify:
      return handle_verify(context, request);
    case RouteId::users_me:
      return handle_users_me(context, request);
    case RouteId::users_id:
      return handle_users_id(context, match.path_param, request);
    case RouteId::openapi:
      return json_answer(200, impl_->openapi_json);
  }
  return reason_phrase_answer(404);
}

HttpAnswer AuthApi::answer_non_route(const RouteMatch& match, std::string_view query) const {
  switch (match.kind) {
    case RouteMatch::Kind::method_not_allowed: {
      HttpAnswer answer = reason_phrase_answer(405);
      answer.headers.emplace_back("Allow", match.allow);
      return answer;
    }
    case RouteMatch::Kind::trailing_slash_redirect: {
      HttpAnswer answer;
      answer.status = 307;
      std::string location = match.location;
      if (!query.empty()) location.append("?").append(query);
      answer.headers.emplace_back("Location", std::move(location));
      answer.has_body = false;  // Starlette's RedirectResponse: empty body, no Content-Type
      return answer;
    }
    case RouteMatch::Kind::route:
    case RouteMatch::Kind::none:
      break;
  }
  return reason_phrase_answer(404);
}

}  // namespace doorman::routes
