// CookieTransport: the token in a named cookie; login/logout set or clear it with
// the attributes Starlette's set_cookie writes (fastapi-users' CookieTransport).
#pragma once

#include "authcore/transport.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

class CookieTransport final : public Transport {
 public:
  explicit CookieTransport(config::TransportConfig config);

  std::optional<std::string_view> extract(const RequestCredentials& credentials) const override;
  // 204 with Set-Cookie: <name>=<token>; Domain; HttpOnly; Max-Age; Path; SameSite; Secure
  HttpAnswer login_answer(const std::string& token) const override;
  // 204 with Set-Cookie: <name>=""; ... Max-Age=0 ...
  HttpAnswer logout_answer() const override;
  std::optional<std::string> cookie_name() const override { return config_.cookie_name; }

 private:
  std::string set_cookie_value(const std::string& value, std::optional<int> max_age) const;

  config::TransportConfig config_;
};

}  // namespace doorman::authcore
