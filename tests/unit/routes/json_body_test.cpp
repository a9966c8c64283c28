// routes/json_body.cpp and routes/body_fields.cpp: when a body is parsed as
// JSON, the 400/422 it can end in, the model-body rule, pydantic coercions.
#include <doctest/doctest.h>

#include <variant>

#include "routes/body_fields.hpp"
#include "routes/json_body.hpp"

using namespace doorman::routes;

namespace {

JsonBody parsed(std::string_view content_type, std::string_view body) {
  auto read = read_json_body(content_type, body);
  REQUIRE(std::holds_alternative<JsonBody>(read));
  return std::get<JsonBody>(read);
}

HttpAnswer refused(std::string_view content_type, std::string_view body) {
  auto read = read_json_body(content_type, body);
  REQUIRE(std::holds_alternative<HttpAnswer>(read));
  return std::get<HttpAnswer>(read);
}

std::string model_error(const JsonBody& body) {
  const auto object = model_object(body);
  REQUIRE(std::holds_alternative<Json>(object));
  return dump_json(std::get<Json>(object));
}

}  // namespace

TEST_CASE("json content types: application/json and application/*+json, any case, parameters ignored") {
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("application/json; charset=utf-8"));
  CHECK(is_json_content_type(" Application/JSON "));
  CHECK(is_json_content_type("application/vnd.api+json"));
  CHECK_FALSE(is_json_content_type(""));
  CHECK_FALSE(is_json_content_type("text/json"));
  CHECK_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_json_content_type("application/json/x"));
  CHECK_FALSE(is_json_content_type("json"));
}

TEST_CASE("json body: parsed, absent, or raw") {
  CHECK(parsed("application/json", "").kind == JsonBody::Kind::absent);
  CHECK(parsed("", "").kind == JsonBody::Kind::absent);
  const auto raw = parsed("text/plain", "{\"a\":1}");
  CHECK(raw.kind == JsonBody::Kind::raw);
  CHECK(raw.raw == "{\"a\":1}");
  CHECK(parsed("", "{}").kind == JsonBody::Kind::raw);  // no Content-Type: not parsed (FastAPI >= 0.132)
  const auto ok = parsed("application/json", "\xEF\xBB\xBF{\"b\":2,\"a\":1}");
  CHECK(ok.kind == JsonBody::Kind::parsed);
  CHECK(dump_json(ok.value) == "{\"b\":2,\"a\":1}");  // key order kept for the input echo
}

TEST_CASE("json body: bytes that are not UTF-8 -> 400, malformed JSON -> 422 json_invalid") {
  const auto bad_utf8 = refused("application/json", "{\"email\":\"\xC3\x28\"}");
  CHECK(bad_utf8.status == 400);
  CHECK(bad_utf8.body == R"({"detail":"There was an error parsing the body"})");

  const auto malformed = refused("application/json", "{\"é\": x}");
  CHECK(malformed.status == 422);
  // offset in characters: '{', '"', 'é', '"', ':', ' ' come before the 'x'
  CHECK(malformed.body.starts_with(
      R"({"detail":[{"type":"json_invalid","loc":["body",6],"msg":"JSON decode error","input":{},"ctx":{"error":")"));
  CHECK(refused("application/json", " ").status == 422);
  CHECK(refused("application/json", "{} x").status == 422);
}

TEST_CASE("model body: missing, not an object, or the object") {
  CHECK(model_error(parsed("application/json", "")) ==
        R"({"type":"missing","loc":["body"],"msg":"Field required","input":null})");
  CHECK(model_error(parsed("application/json", "null")) ==
        R"({"type":"missing","loc":["body"],"msg":"Field required","input":null})");
  CHECK(
      model_error(parsed("application/json", "[1]")) ==
      R"({"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1]})");
  CHECK(
      model_error(parsed("text/plain", "hello")) ==
      R"({"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"hello"})");
  const auto object = parsed("application/json", "{}");
  CHECK(std::holds_alternative<const Json*>(model_object(object)));
}

TEST_CASE("body fields: strings, declaration order, missing echoes the whole body") {
  const Json body = Json::parse(R"({"password":123,"x":"é"})");
  BodyFields fields(body);
  CHECK_FALSE(fields.required_string("email"));
  CHECK_FALSE(fields.required_string("password"));
  CHECK_FALSE(fields.ok());
  REQUIRE(fields.errors().size() == 2);
  CHECK(
      dump_json(fields.errors()[0]) ==
      R"({"type":"missing","loc":["body","email"],"msg":"Field required","input":{"password":123,"x":"é"}})");
  CHECK(
      dump_json(fields.errors()[1]) ==
      R"({"type":"string_type","loc":["body","password"],"msg":"Input should be a valid string","input":123})");

  const Json nulls = Json::parse(R"({"password":null,"email":null})");
  BodyFields optional(nulls);
  CHECK_FALSE(optional.optional_string("password"));
  CHECK_FALSE(optional.optional_bool("email"));
  CHECK(optional.ok());
  BodyFields required(nulls);
  CHECK_FALSE(required.required_string("password"));
  CHECK(
      dump_json(required.errors()[0]) ==
      R"({"type":"string_type","loc":["body","password"],"msg":"Input should be a valid string","input":null})");
}

TEST_CASE("body fields: pydantic's lax bool") {
  const Json loc = Json::array({"body", "is_active"});
  const auto check = [&](const char* json) {
    Json error;
    auto b = coerce_bool(Json::parse(json), loc, error);
    return b ? std::string(*b ? "true" : "false") : error["type"].get<std::string>();
  };
  CHECK(check("true") == "true");
  CHECK(check("false") == "false");
  CHECK(check("1") == "true");
  CHECK(check("0") == "false");
  CHECK(check("1.0") == "true");
  CHECK(check("0.0") == "false");
  for (const char* yes : {R"("true")", R"("TRUE")", R"("yes")", R"("On")", R"("t")", R"("Y")", R"("1")"})
    CHECK(check(yes) == "true");
  for (const char* no : {R"("false")", R"("No")", R"("off")", R"("F")", R"("n")", R"("0")"})
    CHECK(check(no) == "false");
  CHECK(check("2") == "bool_parsing");
  CHECK(check("-1") == "bool_parsing");
  CHECK(check("2.0") == "bool_parsing");
  CHECK(check(R"("maybe")") == "bool_parsing");
  CHECK(check(R"(" true")") == "bool_parsing");
  CHECK(check(R"("")") == "bool_parsing");
  CHECK(check("0.5") == "bool_type");
  CHECK(check("[]") == "bool_type");
  CHECK(check("{}") == "bool_type");

  Json error;
  coerce_bool(Json("maybe"), loc, error);
  CHECK(
      dump_json(error) ==
      R"({"type":"bool_parsing","loc":["body","is_active"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"})");
  coerce_bool(Json::array({1}), loc, error);
  CHECK(
      dump_json(error) ==
      R"({"type":"bool_type","loc":["body","is_active"],"msg":"Input should be a valid boolean","input":[1]})");
}
