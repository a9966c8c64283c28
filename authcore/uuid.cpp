// UUIDs: random v4 ids (libsodium CSPRNG) and parsing that accepts exactly
// what Python's uuid.UUID(str) accepts, since fastapi-users parses ids with it.
#include "authcore/uuid.hpp"
#include "config/hex.hpp"

#include <array>
#include <cstdint>

#include "authcore/random_token.hpp"

namespace doorman::authcore {
namespace {

using config::hex_value;

constexpr char hex_digits[] = "0123456789abcdef";

std::string format_uuid(const std::array<std::uint8_t, 16>& b) {
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex_digits[b[i] >> 4];
    out += hex_digits[b[i] & 0xF];
  }
  return out;
}

void remove_all(std::string& s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(what, pos)) != std::string::npos; pos = hit + what.size())
    out.append(s, pos, hit - pos);
  out.append(s, pos);
  s = std::move(out);
}

// ASCII characters Python's str.isspace() accepts (int() strips them).
bool is_python_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); }

// Python int(text, 16) restricted to ASCII: surrounding whitespace, an optional
// '+', an optional 0x prefix (one '_' may follow it), digits with single '_'
// between them. Returns the significant hex digits, or nullopt.
std::optional<std::string> python_hex_int_digits(std::string_view s) {
  while (!s.empty() && is_python_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_python_space(s.back())) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    if (!s.empty() && s.front() == '_') s.remove_prefix(1);
  }
  if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
  std::string digits;
  bool after_underscore = false;
  for (const char c : s) {
    if (c == '_') {
      if (after_underscore) return std::nullopt;
      after_underscore = true;
      continue;
    }
    if (hex_value(c) < 0) return std::nullopt;
    after_underscore = false;
    digits += c;
  }
  return digits;
}

}  // namespace

std::string new_uuid4() {
  std::array<std::uint8_t, 16> b;
  random_bytes(b.data(), b.size());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return format_uuid(b);
}

// Mirrors CPython's UUID.__init__(hex=...): replace('urn:', '') then
// replace('uuid:', ''), strip('{}'), replace('-', ''), len == 32, int(hex, 16).
// Deviation: Python's int() also takes non-ASCII Unicode digits and spaces;
// any non-ASCII byte is refused here.
std::optional<std::string> parse_uuid(std::string_view text) {
  std::string s(text);
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
  remove_all(s, "urn:");
  remove_all(s, "uuid:");
  const auto first = s.find_first_not_of("{}");
  if (first == std::string::npos) return std::nullopt;
  s = s.substr(first, s.find_last_not_of("{}") - first + 1);
  remove_all(s, "-");
  if (s.size() != 32) return std::nullopt;
  const auto digits = python_hex_int_digits(s);
  if (!digits) return std::nullopt;
  // Fewer than 32 significant digits (a prefix, sign or space took room) means leading zeros.
  const std::string padded = std::string(32 - digits->size(), '0') + *digits;
  std::array<std::uint8_t, 16> b;
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::uint8_t>(hex_value(padded[2 * i]) << 4 | hex_value(padded[2 * i + 1]));
  return format_uuid(b);
}

}  // namespace doorman::authcore
