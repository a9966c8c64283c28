// The JSON answers every route sends (api-contract.md §1): compact UTF-8 JSON
// without ASCII escaping, and the one place that builds `{"detail": X}`.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "authcore/http_answer.hpp"

namespace doorman::routes {

using authcore::HttpAnswer;
using Json = nlohmann::ordered_json;  // ordered: key order is part of the contract

// Compact, non-ASCII kept as is; invalid UTF-8 in echoed input is replaced, never thrown.
std::string dump_json(const Json& value);

// `body` is already JSON text (e.g. authcore::user_json).
HttpAnswer json_answer(int status, std::string body);

// The JSON literal `null`: what FastAPI sends for a handler that returns nothing (202 forgot, 200 reset).
HttpAnswer null_answer(int status);
// 204: no body, no Content-Type, no Content-Length.
HttpAnswer no_content_answer();

// {"detail": detail}
HttpAnswer detail_answer(int status, const Json& detail);
// {"detail":{"code":code,"reason":reason}}: the *_INVALID_PASSWORD shape.
HttpAnswer code_reason_answer(int status, std::string_view code, std::string_view reason);
// {"detail":"<reason phrase>"} for an error raised without a detail: 400/401/403/404/405/503.
HttpAnswer reason_phrase_answer(int status);

}  // namespace doorman::routes
