// Request path normalization as Envoy's normalize_path + merge_slashes
// (DESIGN.md §4): the result is both what access rules see and what is forwarded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace doorman::proxy {

struct NormalizedTarget {
  std::string path;   // normalized, starts with '/'
  std::string query;  // as sent, without '?', may be empty
  bool has_query = false;
  // path + ('?' + query if has_query): the request-target to forward
  std::string target() const;
};

// nullopt: refuse with 400 (encoded '/', '\' or NUL; not origin-form; bad percent escape).
std::optional<NormalizedTarget> normalize_target(std::string_view request_target);

}  // namespace doorman::proxy
