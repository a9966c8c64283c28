// Pydantic v2 (lax mode) field rules for the fields of a JSON body
// (api-contract.md §9): each reader returns the value or records one 422 item
// with loc ["body", name]; declaration order is the order of the calls.
// Two body shapes: a model body (register, PATCH), and FastAPI's field-by-field
// `Body(embed=True)` parameters (forgot, reset, request-verify, verify), where
// an absent or null field is `missing` with input null.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "routes/json_body.hpp"
#include "routes/validation_error.hpp"

namespace doorman::routes {

class BodyFields {
 public:
  enum class Shape { model, embedded };

  explicit BodyFields(const Json& object, Shape shape = Shape::model) : object_(object), shape_(shape) {}
  // Field-by-field parameters read from `body` as FastAPI's request_body_to_args
  // does: a body that is absent, unparsed or not a JSON object has no fields.
  static BodyFields embedded(const JsonBody& body);

  // `str`: absent -> missing (model: input the whole body; embedded: absent or
  // null -> input null); anything else but a string -> string_type.
  std::optional<std::string> required_string(std::string_view name);
  // `Optional[str] = None`: absent or null -> nullopt.
  std::optional<std::string> optional_string(std::string_view name);
  // `EmailStr`: string rules, then authcore::normalize_email; the normalised form.
  std::optional<std::string> required_email(std::string_view name);
  std::optional<std::string> optional_email(std::string_view name);
  // `Optional[bool]`: absent or null -> nullopt; pydantic's bool coercion.
  std::optional<bool> optional_bool(std::string_view name);

  const ValidationItems& errors() const { return errors_; }
  bool ok() const { return errors_.empty(); }

 private:
  const Json* find(std::string_view name) const;
  std::optional<std::string> email(std::string_view name, const Json& value);

  const Json& object_;
  Shape shape_;
  ValidationItems errors_;
};

// Pydantic's lax bool: JSON booleans, 0/1 (also 0.0/1.0), and the strings
// 0 1 f t n y no on off yes true false (ASCII, any case). The item on failure.
std::optional<bool> coerce_bool(const Json& value, const Json& loc, Json& error);

}  // namespace doorman::routes
