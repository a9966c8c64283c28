// BearerTransport: Authorization header parsing and the bearer login/logout answers.
#include "authcore/bearer_transport.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace doorman::authcore {
namespace {

// Python's scheme.lower() == "bearer"; only ASCII letters can lower to these.
bool is_bearer_scheme(std::string_view scheme) {
  constexpr std::string_view kBearer = "bearer";
  return std::equal(scheme.begin(), scheme.end(), kBearer.begin(), kBearer.end(), [](char a, char b) {
    return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
  });
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  // str.partition(" "): no space means the whole value is the scheme and the token is empty.
  const auto space = authorization.find(' ');
  const std::string_view scheme = authorization.substr(0, space);
  if (!is_bearer_scheme(scheme)) return std::nullopt;
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view token = strip_python_whitespace(authorization.substr(space + 1));
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string_view> BearerTransport::extract(const RequestCredentials& credentials) const {
  return bearer_token(credentials.authorization);
}

HttpAnswer BearerTransport::login_answer(const std::string& token) const {
  nlohmann::ordered_json body;
  body["access_token"] = token;
  body["token_type"] = "bearer";
  HttpAnswer answer;
  answer.status = 200;
  answer.headers.emplace_back("Content-Type", "application/json");
  answer.body = body.dump();
  return answer;
}

HttpAnswer BearerTransport::logout_answer() const {
  HttpAnswer answer;
  answer.status = 204;
  answer.has_body = false;
  return answer;
}

}  // namespace doorman::authcore
