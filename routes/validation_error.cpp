// Builds FastAPI/pydantic v2 422 items; see validation_error.hpp.
#include "routes/validation_error.hpp"

#include <string>
#include <utility>

namespace doorman::routes {

namespace {

Json item(std::string_view type, Json loc, std::string_view msg, Json input) {
  Json out = Json::object();
  out["type"] = type;
  out["loc"] = std::move(loc);
  out["msg"] = msg;
  out["input"] = std::move(input);
  return out;
}

}  // namespace

Json body_loc(std::string_view field) {
  Json loc = Json::array({"body"});
  if (!field.empty()) loc.push_back(field);
  return loc;
}

Json missing_item(Json loc, Json input) {
  return item("missing", std::move(loc), "Field required", std::move(input));
}

Json string_type_item(Json loc, Json input) {
  return item("string_type", std::move(loc), "Input should be a valid string", std::move(input));
}

Json bool_type_item(Json loc, Json input) {
  return item("bool_type", std::move(loc), "Input should be a valid boolean", std::move(input));
}

Json bool_parsing_item(Json loc, Json input) {
  return item("bool_parsing", std::move(loc), "Input should be a valid boolean, unable to interpret input",
              std::move(input));
}

Json email_item(Json loc, Json input, std::string_view reason) {
  Json out = item("value_error", std::move(loc),
                  std::string("value is not a valid email address: ").append(reason), std::move(input));
  out["ctx"] = Json::object({{"reason", reason}});
  return out;
}

Json string_pattern_mismatch_item(Json loc, Json input, std::string_view pattern) {
  Json out = item("string_pattern_mismatch", std::move(loc),
                  std::string("String should match pattern '").append(pattern).append("'"), std::move(input));
  out["ctx"] = Json::object({{"pattern", pattern}});
  return out;
}

Json model_attributes_type_item(Json input) {
  return item("model_attributes_type", body_loc(),
              "Input should be a valid dictionary or object to extract fields from", std::move(input));
}

Json json_invalid_item(std::size_t offset, std::string_view error) {
  Json loc = body_loc();
  loc.push_back(offset);
  Json out = item("json_invalid", std::move(loc), "JSON decode error", Json::object());
  out["ctx"] = Json::object({{"error", error}});
  return out;
}

HttpAnswer validation_answer(const ValidationItems& items) {
  Json list = Json::array();
  for (const Json& i : items) list.push_back(i);
  return detail_answer(422, list);
}

}  // namespace doorman::routes
