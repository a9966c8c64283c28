// The header parsing shared by transports: Python's strip() and Starlette's Cookie parser.
#include "authcore/transport.hpp"

namespace doorman::authcore {

std::string_view strip_python_whitespace(std::string_view text) {
  // str.isspace() over latin-1: \t\n\v\f\r, \x1c-\x1f, space, \x85, \xa0.
  static constexpr std::string_view kWhitespace = " \t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0";
  const auto begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(kWhitespace);
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name) {
  // Starlette's cookie_parser: split on ';', split each chunk at its first '=',
  // strip both halves, unquote the value; the result is a dict, so when a name
  // repeats the LAST occurrence wins.
  std::optional<std::string_view> found;
  while (!cookie_header.empty()) {
    const auto semicolon = cookie_header.find(';');
    const std::string_view chunk = cookie_header.substr(0, semicolon);
    cookie_header =
        semicolon == std::string_view::npos ? std::string_view{} : cookie_header.substr(semicolon + 1);

    const auto equals = chunk.find('=');
    // A chunk without '=' is a value with an empty name (Mozilla bug 169091).
    const std::string_view key =
        equals == std::string_view::npos ? std::string_view{} : chunk.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? chunk : chunk.substr(equals + 1);
    if (strip_python_whitespace(key) != name) continue;
    value = strip_python_whitespace(value);
    // http.cookies._unquote drops the surrounding quotes (its backslash escapes
    // are not undone here: no token alphabet contains them).
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    found = value;
  }
  return found;
}

}  // namespace doorman::authcore
