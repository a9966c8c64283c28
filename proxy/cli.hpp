// The doorman command line (DESIGN.md §9): parses arguments and runs one
// command. Exit codes: 0 ok, 1 runtime error, 2 usage or config error.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace doorman::proxy {

inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime_error = 1;
inline constexpr int exit_usage_error = 2;

// `args` excludes the program name. Output to `out`, one-line errors to `err`.
int run_cli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace doorman::proxy
