// Pydantic v2 (lax mode) field rules for the fields of a JSON model body
// (api-contract.md §9): each reader returns the value or records one 422 item
// with loc ["body", name]; declaration order is the order of the calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "routes/validation_error.hpp"

namespace doorman::routes {

class BodyFields {
 public:
  explicit BodyFields(const Json& object) : object_(object) {}

  // `str`: absent -> missing (input: the whole body); anything but a string, null included -> string_type.
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
  ValidationItems errors_;
};

// Pydantic's lax bool: JSON booleans, 0/1 (also 0.0/1.0), and the strings
// 0 1 f t n y no on off yes true false (ASCII, any case). The item on failure.
std::optional<bool> coerce_bool(const Json& value, const Json& loc, Json& error);

}  // namespace doorman::routes
