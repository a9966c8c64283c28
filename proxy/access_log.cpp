// Formats the per-request access log line of DESIGN.md §10 without a JSON
// library: the shape is fixed and this runs once per request.
#include "proxy/access_log.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace doorman::proxy {
namespace {

// Length of the valid UTF-8 sequence starting at s[0], or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t length;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  const auto b1 = static_cast<unsigned char>(s[1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return length;
}

// Paths and methods come from the client: escape them, and replace bytes that
// are not UTF-8 with U+FFFD so that every line stays parseable JSON.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s[0]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(s);
      if (length == 0) {
        out.append("\xef\xbf\xbd");
        s.remove_prefix(1);
      } else {
        out.append(s.substr(0, length));
        s.remove_prefix(length);
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    s.remove_prefix(1);
  }
  out.push_back('"');
}

void append_optional_string(std::string& out, const std::optional<std::string_view>& s) {
  if (s) {
    append_json_string(out, *s);
  } else {
    out.append("null");
  }
}

// Milliseconds with microsecond resolution ("0.042"): loopback upstreams answer
// in well under a millisecond, so whole milliseconds would all read 0.
void append_ms(std::string& out, double ms) {
  if (!std::isfinite(ms)) {
    out.append("null");
    return;
  }
  char buffer[32];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, ms < 0 ? 0.0 : ms, std::chars_format::fixed, 3);
  out.append(buffer, result.ptr);
}

// RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.123Z.
void append_time(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss clock{ms - day};
  char buffer[40];
  const int n = std::snprintf(
      buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  out.append(buffer, static_cast<std::size_t>(n));
}

}  // namespace

std::string format_access_log(const AccessLogEntry& entry) {
  std::string out;
  out.reserve(160 + entry.path.size());
  out.append("{\"time\":\"");
  append_time(out, entry.time);
  out.append("\",\"method\":");
  append_json_string(out, entry.method);
  out.append(",\"path\":");
  append_json_string(out, entry.path);
  out.append(",\"status\":");
  out.append(std::to_string(entry.status));
  out.append(",\"user_id\":");
  append_optional_string(out, entry.user_id);
  out.append(",\"backend\":");
  append_optional_string(out, entry.backend);
  out.append(",\"upstream_ms\":");
  if (entry.upstream_ms) {
    append_ms(out, *entry.upstream_ms);
  } else {
    out.append("null");
  }
  out.append(",\"total_ms\":");
  append_ms(out, entry.total_ms);
  out.append(",\"client\":");
  append_json_string(out, entry.client);
  out.append("}\n");
  return out;
}

}  // namespace doorman::proxy
