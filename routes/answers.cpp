// Builds the JSON answers of the auth API; see answers.hpp.
#include "routes/answers.hpp"

#include <utility>

namespace doorman::routes {

std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

HttpAnswer json_answer(int status, std::string body) {
  HttpAnswer answer;
  answer.status = status;
  answer.headers.emplace_back("Content-Type", "application/json");  // no charset parameter, as Starlette
  answer.body = std::move(body);
  return answer;
}

HttpAnswer null_answer(int status) { return json_answer(status, "null"); }

HttpAnswer no_content_answer() {
  HttpAnswer answer;
  answer.status = 204;
  answer.has_body = false;
  return answer;
}

HttpAnswer detail_answer(int status, const Json& detail) {
  Json body = Json::object();
  body["detail"] = detail;
  return json_answer(status, dump_json(body));
}

HttpAnswer code_reason_answer(int status, std::string_view code, std::string_view reason) {
  Json detail = Json::object();
  detail["code"] = code;
  detail["reason"] = reason;
  return detail_answer(status, detail);
}

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

}  // namespace

HttpAnswer reason_phrase_answer(int status) { return detail_answer(status, reason_phrase(status)); }

}  // namespace doorman::routes
