// `${VAR}` / `${VAR:-default}` expansion of config scalars (DESIGN.md §4).
// Pure: the environment comes in as a lookup function so tests need no setenv.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace doorman::config {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the process environment through getenv.
EnvLookup process_env();

struct ExpandResult {
  std::string value;
  std::string error;  // empty on success; names the variable or the syntax problem
  bool ok() const { return error.empty(); }
};

// `${VAR}` is VAR's value (empty if set but empty; an error if unset).
// `${VAR:-default}` is the default when VAR is unset or empty, as in sh.
// `$${` is a literal `${`; any other `$` is kept as is, so secrets holding `$` survive.
ExpandResult expand_env(std::string_view text, const EnvLookup& env);

}  // namespace doorman::config
