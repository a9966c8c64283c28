// routes/form_body.cpp: urlencoded and multipart fields as Starlette reads them.
#include <doctest/doctest.h>

#include <variant>

#include "routes/form_body.hpp"

using namespace doorman::routes;

namespace {

FormFields fields_of(std::string_view content_type, std::string_view body) {
  auto read = read_form_body(content_type, body);
  REQUIRE(std::holds_alternative<FormFields>(read));
  return std::get<FormFields>(read);
}

}  // namespace

TEST_CASE("urlencoded: plus, percent escapes, raw bytes, empty and valueless fields") {
  const auto fields = parse_urlencoded("username=a%40b.c&password=p+w%C3%A9%2B&&flag&x=caf\xE9&bad=%ZZ%C3");
  REQUIRE(fields.size() == 5);
  CHECK(fields[0] == std::pair<std::string, std::string>{"username", "a@b.c"});
  CHECK(fields[1].second == "p w\xC3\xA9+");
  CHECK(fields[2] == std::pair<std::string, std::string>{"flag", ""});
  CHECK(fields[3].second == "caf\xC3\xA9");      // a raw byte is its latin-1 character
  CHECK(fields[4].second == "%ZZ\xEF\xBF\xBD");  // an invalid escape stays; a bad UTF-8 run is U+FFFD
}

TEST_CASE("form body: the content type decides; the last value of a name wins") {
  CHECK(fields_of("application/json", R"({"username":"a"})").empty());
  CHECK(fields_of("", "username=a").empty());
  const auto fields = fields_of("Application/X-WWW-Form-Urlencoded; charset=utf-8", "a=1&a=2");
  CHECK(form_value(fields, "a") == "2");
  CHECK_FALSE(form_value(fields, "b"));
}

TEST_CASE("multipart: fields, quoted names, a missing boundary, a malformed body") {
  const std::string body =
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na@b.c\r\n"
      "--XyZ\r\ncontent-disposition: form-data; name=\"pass;word\"; filename=\"f.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
  const auto fields = fields_of("multipart/form-data; boundary=XyZ", body);
  REQUIRE(fields.size() == 2);
  CHECK(fields[0] == std::pair<std::string, std::string>{"username", "a@b.c"});
  CHECK(fields[1] == std::pair<std::string, std::string>{"pass;word", "line1\r\nline2"});
  CHECK(fields_of("multipart/form-data; boundary=\"XyZ\"", body).size() == 2);

  auto no_boundary = read_form_body("multipart/form-data", body);
  REQUIRE(std::holds_alternative<HttpAnswer>(no_boundary));
  CHECK(std::get<HttpAnswer>(no_boundary).status == 400);
  CHECK(std::get<HttpAnswer>(no_boundary).body == R"({"detail":"Missing boundary in multipart."})");

  auto no_name = read_form_body("multipart/form-data; boundary=XyZ",
                                "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--");
  REQUIRE(std::holds_alternative<HttpAnswer>(no_name));
  CHECK(std::get<HttpAnswer>(no_name).body == R"({"detail":"There was an error parsing the body"})");

  auto unterminated = read_form_body("multipart/form-data; boundary=XyZ",
                                     "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv");
  CHECK(std::holds_alternative<HttpAnswer>(unterminated));
}
