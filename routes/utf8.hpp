// Small UTF-8 and ASCII helpers shared by the body readers and the password policy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace doorman::routes {

bool is_valid_utf8(std::string_view text);
// Code points in valid UTF-8 (Python's len of the decoded str).
std::size_t count_code_points(std::string_view text);
// Appends code point `cp` (< 0x110000) as UTF-8.
void append_utf8(std::string& out, char32_t cp);
// Decodes `bytes` as Python's bytes.decode("utf-8", errors="replace") does.
std::string decode_utf8_replace(std::string_view bytes);
// Each byte as the code point of the same value (bytes.decode("latin-1")), in UTF-8.
std::string latin1_to_utf8(std::string_view bytes);

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool iequals_ascii(std::string_view a, std::string_view b);
// Without surrounding spaces, tabs, CR and LF (header values, content types).
std::string_view trim_ascii_space(std::string_view s);

}  // namespace doorman::routes
