// BearerTransport: the token in `Authorization: Bearer <token>`; login answers
// the OAuth2 token JSON (fastapi-users' BearerTransport, FastAPI's OAuth2PasswordBearer).
#pragma once

#include "authcore/transport.hpp"

namespace doorman::authcore {

class BearerTransport final : public Transport {
 public:
  std::optional<std::string_view> extract(const RequestCredentials& credentials) const override;
  // 200 {"access_token":"<token>","token_type":"bearer"}
  HttpAnswer login_answer(const std::string& token) const override;
  // 204, no body
  HttpAnswer logout_answer() const override;
  std::optional<std::string> cookie_name() const override { return std::nullopt; }
};

// The token of an Authorization header value as FastAPI reads it: the scheme is
// the text before the first space (case-insensitive "bearer"), the rest trimmed.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace doorman::authcore
