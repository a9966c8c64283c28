// The access log line (DESIGN.md §10): one JSON object per request, formatted
// here and written to stdout by the caller.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace doorman::proxy {

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string_view method;
  std::string_view path;  // normalized, without the query (queries carry reset and OAuth tokens)
  int status = 0;
  std::optional<std::string_view> user_id;  // nullopt: no user
  std::optional<std::string_view> backend;  // nullopt: no backend yielded a user
  std::optional<double> upstream_ms;        // nullopt: not forwarded
  double total_ms = 0;
  std::string_view client;  // the peer address
};

// {"time":"2024-05-01T12:00:00.123Z","method":..,"path":..,"status":..,"user_id":..|null,
//  "backend":..|null,"upstream_ms":..|null,"total_ms":..,"client":..} followed by '\n', so that
// one write() emits one whole line. Strings are JSON-escaped and made valid UTF-8.
std::string format_access_log(const AccessLogEntry& entry);

}  // namespace doorman::proxy
