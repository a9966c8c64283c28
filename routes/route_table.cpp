// The auth route table; see route_table.hpp.
#include "routes/route_table.hpp"

#include <algorithm>
#include <utility>

namespace doorman::routes {

bool path_matches(std::string_view pattern, std::string_view path, std::string_view* param) {
  std::size_t p = 0;
  std::size_t s = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '{') {
      const auto close = pattern.find('}', p);
      const auto segment_end = std::min(path.find('/', s), path.size());
      if (close == std::string_view::npos || segment_end == s) return false;
      if (param != nullptr) *param = path.substr(s, segment_end - s);
      p = close + 1;
      s = segment_end;
      continue;
    }
    if (s >= path.size() || pattern[p] != path[s]) return false;
    ++p;
    ++s;
  }
  return s == path.size();
}

RouteTable::RouteTable(const config::Config& config) {
  const std::string& auth = config.routes.auth_prefix;
  const std::string& users = config.routes.users_prefix;
  prefixes_.push_back(auth);
  if (users != auth) prefixes_.push_back(users);

  // doorman's own route (DESIGN.md §2), always served and first, so that a
  // users prefix equal to the auth prefix cannot turn it into a {users}/{id}.
  add(auth + "/openapi.json", "GET", RouteId::openapi);
  // Then in the order of the fastapi-users docs' app: auth routers (one per
  // backend), register, reset, verify, users. Order decides 405's Allow and
  // `{users}/me` before `{users}/{id}`.
  const auto& backends = config.auth.backends;
  for (int i = 0; i < static_cast<int>(backends.size()); ++i) {
    add(auth + "/" + backends[i].name + "/login", "POST", RouteId::login, i);
    add(auth + "/" + backends[i].name + "/logout", "POST", RouteId::logout, i);
  }
  if (config.routes.register_) add(auth + "/register", "POST", RouteId::register_);
  if (config.routes.reset_password) {
    add(auth + "/forgot-password", "POST", RouteId::forgot_password);
    add(auth + "/reset-password", "POST", RouteId::reset_password);
  }
  if (config.routes.verify) {
    add(auth + "/request-verify-token", "POST", RouteId::request_verify_token);
    add(auth + "/verify", "POST", RouteId::verify);
  }
  if (config.routes.users) {
    add(users + "/me", "GET", RouteId::users_me);
    add(users + "/me", "PATCH", RouteId::users_me);
    // After /me: DELETE {users}/me falls through to the {id} route with id "me", as upstream.
    add(users + "/{id}", "GET", RouteId::users_id);
    add(users + "/{id}", "PATCH", RouteId::users_id);
    add(users + "/{id}", "DELETE", RouteId::users_id);
  }
}

void RouteTable::add(std::string path, std::string_view method, RouteId route, int backend_index) {
  entries_.push_back(RouteEntry{std::move(path), method, route, backend_index});
}

RouteMatch RouteTable::match(std::string_view method, std::string_view path) const {
  RouteMatch out;
  const bool under_prefix = std::any_of(prefixes_.begin(), prefixes_.end(),
                                        [&](const std::string& p) { return path.starts_with(p); });
  if (!under_prefix) return out;

  const RouteEntry* other_method = nullptr;
  for (const RouteEntry& entry : entries_) {
    std::string_view param;
    if (!path_matches(entry.path, path, &param)) continue;
    if (entry.method == method) {
      out.kind = RouteMatch::Kind::route;
      out.route = entry.route;
      out.backend_index = entry.backend_index;
      out.path_param = std::string(param);
      return out;
    }
    if (other_method == nullptr) other_method = &entry;
  }
  if (other_method != nullptr) {
    // Starlette answers with the first path-matching route, whose methods make Allow.
    out.kind = RouteMatch::Kind::method_not_allowed;
    out.route = other_method->route;
    out.allow = std::string(other_method->method);
    return out;
  }
  if (path.size() > 1 && path.back() == '/') {
    const std::string_view stripped = path.substr(0, path.size() - 1);
    for (const RouteEntry& entry : entries_) {
      if (!path_matches(entry.path, stripped)) continue;
      out.kind = RouteMatch::Kind::trailing_slash_redirect;
      out.route = entry.route;
      out.location = std::string(stripped);
      return out;
    }
  }
  return out;
}

}  // namespace doorman::routes
