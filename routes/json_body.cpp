// JSON request bodies; see json_body.hpp.
#include "routes/json_body.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

#include "routes/utf8.hpp"
#include "routes/validation_error.hpp"

namespace doorman::routes {

namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals_ascii(s.substr(s.size() - suffix.size()), suffix);
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
std::string_view parser_message(std::string_view what) {
  const auto colon = what.find(": ");
  return colon == std::string_view::npos ? what : what.substr(colon + 2);
}

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  const std::string_view type = trim_ascii_space(content_type.substr(0, content_type.find(';')));
  const auto slash = type.find('/');
  // email.message treats a type without exactly one '/' as text/plain.
  if (slash == std::string_view::npos || type.find('/', slash + 1) != std::string_view::npos) return false;
  const std::string_view subtype = type.substr(slash + 1);
  return iequals_ascii(type.substr(0, slash), "application") &&
         (iequals_ascii(subtype, "json") || iends_with(subtype, "+json"));
}

std::variant<JsonBody, HttpAnswer> read_json_body(std::string_view content_type, std::string_view body) {
  JsonBody out;
  if (body.empty()) return out;
  if (!is_json_content_type(content_type)) {
    out.kind = JsonBody::Kind::raw;
    out.raw = body;
    return out;
  }
  // Python's json.loads(bytes) decodes a leading UTF-8 BOM away ("utf-8-sig").
  std::string_view text = body;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (!is_valid_utf8(text)) return detail_answer(400, "There was an error parsing the body");
  try {
    out.value = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.byte counts bytes read up to the offending one; Python reports a character offset.
    const std::size_t bytes_before = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    return validation_answer(
        {json_invalid_item(count_code_points(text.substr(0, bytes_before)), parser_message(e.what()))});
  }
  out.kind = JsonBody::Kind::parsed;
  return out;
}

std::variant<const Json*, Json> model_object(const JsonBody& body) {
  switch (body.kind) {
    case JsonBody::Kind::absent:
      return missing_item(body_loc(), nullptr);
    case JsonBody::Kind::raw:
      // FastAPI validates the bytes against the model and echoes them as text.
      return model_attributes_type_item(std::string(body.raw));
    case JsonBody::Kind::parsed:
      break;
  }
  if (body.value.is_null()) return missing_item(body_loc(), nullptr);
  if (!body.value.is_object()) return model_attributes_type_item(body.value);
  return &body.value;
}

}  // namespace doorman::routes
