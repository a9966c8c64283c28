// Reading a form body as Starlette's request.form() does (api-contract.md §3):
// application/x-www-form-urlencoded and multipart/form-data; any other
// Content-Type yields no fields (so a JSON login body reports both fields missing).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "routes/answers.hpp"

namespace doorman::routes {

// Fields in body order, names and values decoded to UTF-8.
using FormFields = std::vector<std::pair<std::string, std::string>>;

// The fields, or the 400 answer for a multipart body that cannot be parsed.
std::variant<FormFields, HttpAnswer> read_form_body(std::string_view content_type, std::string_view body);

// Starlette's FormData.get: the last value given for `name`.
std::optional<std::string_view> form_value(const FormFields& fields, std::string_view name);

// Exposed for tests: x-www-form-urlencoded decoding as Starlette does it
// (latin-1 bytes, then unquote_plus with UTF-8 and replacement).
FormFields parse_urlencoded(std::string_view body);

}  // namespace doorman::routes
