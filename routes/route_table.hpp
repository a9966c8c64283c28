// Which auth route a (method, path) names (api-contract.md §1-§2, DESIGN.md §2):
// an ordered table of (path pattern, method, route) built once from config and
// matched as Starlette does: the first entry matching path and method wins;
// a path match with another method -> 405 with the first such entry's methods
// in Allow; a path that matches only without one trailing '/' -> 307.
// Everything else is no route (forwarded upstream).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "routes/auth_api.hpp"

namespace doorman::routes {

struct RouteEntry {
  std::string path;         // a "{name}" segment matches one non-empty segment (Starlette's [^/]+)
  std::string_view method;  // one method per entry, as each FastAPI route has its own
  RouteId route;
  int backend_index = -1;  // login/logout
};

class RouteTable {
 public:
  explicit RouteTable(const config::Config& config);

  // Allocates nothing for a path outside the prefixes or one that matches no entry.
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<RouteEntry>& entries() const { return entries_; }

 private:
  void add(std::string path, std::string_view method, RouteId route, int backend_index = -1);

  std::vector<RouteEntry> entries_;
  std::vector<std::string> prefixes_;
};

// True when `path` matches `pattern`; `param` (if given) receives the text of the "{name}" segment.
bool path_matches(std::string_view pattern, std::string_view path, std::string_view* param = nullptr);

}  // namespace doorman::routes
