// Pydantic-style field readers; see body_fields.hpp.
#include "routes/body_fields.hpp"

#include <array>
#include <cmath>

#include "authcore/email.hpp"
#include "routes/utf8.hpp"

namespace doorman::routes {

namespace {

std::optional<bool> string_as_bool(std::string_view s) {
  static constexpr std::array<std::string_view, 6> falsy{"0", "f", "n", "no", "off", "false"};
  static constexpr std::array<std::string_view, 6> truthy{"1", "t", "y", "yes", "on", "true"};
  for (const auto word : falsy)
    if (iequals_ascii(s, word)) return false;
  for (const auto word : truthy)
    if (iequals_ascii(s, word)) return true;
  return std::nullopt;
}

}  // namespace

std::optional<bool> coerce_bool(const Json& value, const Json& loc, Json& error) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string()) {
    if (auto b = string_as_bool(value.get_ref<const std::string&>())) return b;
    error = bool_parsing_item(loc, value);
    return std::nullopt;
  }
  if (value.is_number_integer()) {  // signed and unsigned
    if (value == 0) return false;
    if (value == 1) return true;
    error = bool_parsing_item(loc, value);
    return std::nullopt;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::trunc(d)) {
      if (d == 0.0) return false;
      if (d == 1.0) return true;
      error = bool_parsing_item(loc, value);
      return std::nullopt;
    }
    // pydantic-core: a float with a fraction is not an int, so no bool either.
  }
  error = bool_type_item(loc, value);
  return std::nullopt;
}

const Json* BodyFields::find(std::string_view name) const {
  const auto it = object_.find(name);
  return it == object_.end() ? nullptr : &*it;
}

BodyFields BodyFields::embedded(const JsonBody& body) {
  static const Json no_fields = Json::object();
  const bool object = body.kind == JsonBody::Kind::parsed && body.value.is_object();
  return BodyFields(object ? body.value : no_fields, Shape::embedded);
}

std::optional<std::string> BodyFields::required_string(std::string_view name) {
  const Json* value = find(name);
  if (shape_ == Shape::embedded && (value == nullptr || value->is_null())) {
    // FastAPI checks `value is None` before pydantic sees it: no input echo.
    errors_.push_back(missing_item(body_loc(name), nullptr));
    return std::nullopt;
  }
  if (value == nullptr) {
    errors_.push_back(missing_item(body_loc(name), object_));
    return std::nullopt;
  }
  if (!value->is_string()) {
    errors_.push_back(string_type_item(body_loc(name), *value));
    return std::nullopt;
  }
  return value->get<std::string>();
}

std::optional<std::string> BodyFields::optional_string(std::string_view name) {
  const Json* value = find(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return required_string(name);
}

std::optional<std::string> BodyFields::email(std::string_view name, const Json& value) {
  auto normalised = authcore::normalize_email(value.get_ref<const std::string&>());
  if (!normalised) {
    errors_.push_back(email_item(body_loc(name), value, normalised.error().reason));
    return std::nullopt;
  }
  return std::move(normalised).value();
}

std::optional<std::string> BodyFields::required_email(std::string_view name) {
  if (!required_string(name)) return std::nullopt;
  return email(name, *find(name));
}

std::optional<std::string> BodyFields::optional_email(std::string_view name) {
  const Json* value = find(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return required_email(name);
}

std::optional<bool> BodyFields::optional_bool(std::string_view name) {
  const Json* value = find(name);
  if (value == nullptr || value->is_null()) return std::nullopt;
  Json error;
  auto b = coerce_bool(*value, body_loc(name), error);
  if (!b) errors_.push_back(std::move(error));
  return b;
}

}  // namespace doorman::routes
