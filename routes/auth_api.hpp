// The fastapi-users HTTP API (api-contract.md): matching a method + path to an
// auth route, and answering it. Handlers block (Argon2, SOCI): proxy runs
// handle() on the blocking pool. No socket types here.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authcore/authenticator.hpp"
#include "authcore/http_answer.hpp"
#include "authcore/password.hpp"
#include "config/config.hpp"

namespace doorman::routes {

using authcore::HttpAnswer;

enum class RouteId {
  login,
  logout,
  register_,
  forgot_password,
  reset_password,
  request_verify_token,
  verify,
  users_me,
  users_id,
  openapi,
};

struct RouteMatch {
  enum class Kind { none, route, method_not_allowed, trailing_slash_redirect } kind = Kind::none;
  RouteId route = RouteId::login;
  int backend_index = -1;  // login/logout
  std::string path_param;  // users_id: the raw {id} segment
  std::string allow;       // method_not_allowed: "GET, PATCH"
  std::string location;    // trailing_slash_redirect: the route path (query appended by caller)
};

struct ApiRequest {
  std::string method;
  std::string path;   // normalized, without query
  std::string query;  // without '?'
  std::string content_type;
  authcore::RequestCredentials credentials;
  std::string body;
};

// Events fired by routes (DESIGN.md §8); issue #4 delivers them. A sink may be empty.
struct Event {
  std::string name;
  authcore::User user;
  std::optional<std::string> token;
  std::optional<std::vector<std::string>> fields;
};
using EventSink = std::function<void(Event)>;

class AuthApi {
 public:
  AuthApi(config::ConfigPtr config, std::shared_ptr<authcore::Authenticator> authenticator,
          std::shared_ptr<const authcore::PasswordHasher> hasher, EventSink events = {});
  ~AuthApi();

  // Cheap, non-blocking: decides whether (method, path) is an auth route.
  RouteMatch match(std::string_view method, std::string_view path) const;
  // Blocking: answers a matched route (match.kind == route).
  HttpAnswer handle(const RouteMatch& match, const ApiRequest& request);
  // The answer for a non-route match (405 with Allow, 307 redirect).
  HttpAnswer answer_non_route(const RouteMatch& match, std::string_view query) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::routes
