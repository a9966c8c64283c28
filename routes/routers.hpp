// The route handlers, one file per fastapi-users router: auth_router.cpp
// (login, logout), register_router.cpp, reset_router.cpp, verify_router.cpp,
// users_router.cpp. AuthApi dispatches a matched RouteId here.
#pragma once

#include <optional>
#include <string_view>
#include <variant>

#include "routes/answers.hpp"
#include "routes/auth_api.hpp"
#include "routes/route_context.hpp"

namespace doorman::routes {

HttpAnswer handle_login(const RouteContext& context, int backend_index, const ApiRequest& request);
HttpAnswer handle_logout(const RouteContext& context, int backend_index, const ApiRequest& request);
HttpAnswer handle_register(const RouteContext& context, const ApiRequest& request);
HttpAnswer handle_forgot_password(const RouteContext& context, const ApiRequest& request);
HttpAnswer handle_reset_password(const RouteContext& context, const ApiRequest& request);
HttpAnswer handle_request_verify_token(const RouteContext& context, const ApiRequest& request);
HttpAnswer handle_verify(const RouteContext& context, const ApiRequest& request);
// The shared first half of forgot-password and request-verify-token: the
// `{"email"}` body read (422/400 answers) and the user with that email, if any
// (503 when the store is down).
std::variant<std::optional<authcore::User>, HttpAnswer> find_user_by_body_email(const RouteContext& context,
                                                                                const ApiRequest& request);
// GET and PATCH {users}/me.
HttpAnswer handle_users_me(const RouteContext& context, const ApiRequest& request);
// GET, PATCH and DELETE {users}/{id}; `id` is the raw path segment.
HttpAnswer handle_users_id(const RouteContext& context, std::string_view id, const ApiRequest& request);

}  // namespace doorman::routes
