// Reading a JSON request body as FastAPI does (api-contract.md §1, §9): parse
// only for application/json or application/*+json; bytes that are not UTF-8
// -> 400; malformed JSON -> 422 json_invalid; and the "model body" rule of
// register/PATCH (no body, null, or a non-object -> one 422 item).
#pragma once

#include <string_view>
#include <variant>

#include "routes/answers.hpp"

namespace doorman::routes {

struct JsonBody {
  enum class Kind {
    absent,  // no body bytes
    raw,     // bytes with a Content-Type that is not JSON: not parsed
    parsed,
  } kind = Kind::absent;
  Json value;            // parsed
  std::string_view raw;  // raw: the body bytes
};

// What Python's email.message would call maintype "application" and subtype
// "json" or "*+json" (parameters and surrounding spaces ignored, any case).
bool is_json_content_type(std::string_view content_type);

// The body, or the answer that ends the request now (400 non-UTF-8, 422 json_invalid).
std::variant<JsonBody, HttpAnswer> read_json_body(std::string_view content_type, std::string_view body);

// For a body validated as one pydantic model: the object whose fields are
// checked, or the single 422 item when there is none.
std::variant<const Json*, Json> model_object(const JsonBody& body);

}  // namespace doorman::routes
