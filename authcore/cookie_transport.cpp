// CookieTransport: cookie extraction and the Set-Cookie of login and logout.
#include "authcore/cookie_transport.hpp"

#include <utility>

namespace doorman::authcore {
namespace {

const char* same_site_text(config::SameSite same_site) {
  switch (same_site) {
    case config::SameSite::strict:
      return "strict";
    case config::SameSite::none:
      return "none";
    case config::SameSite::lax:
      break;
  }
  return "lax";
}

HttpAnswer no_content_with_cookie(std::string set_cookie) {
  HttpAnswer answer;
  answer.status = 204;
  answer.has_body = false;
  answer.headers.emplace_back("Set-Cookie", std::move(set_cookie));
  return answer;
}

}  // namespace

CookieTransport::CookieTransport(config::TransportConfig config) : config_(std::move(config)) {}

std::optional<std::string_view> CookieTransport::extract(const RequestCredentials& credentials) const {
  const auto value = find_cookie(credentials.cookie, config_.cookie_name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

std::string CookieTransport::set_cookie_value(const std::string& value, std::optional<int> max_age) const {
  // Python's Morsel.OutputString: attributes sorted by name, empty values and
  // false flags left out.
  std::string out = config_.cookie_name + "=" + value;
  if (config_.cookie_domain && !config_.cookie_domain->empty()) out += "; Domain=" + *config_.cookie_domain;
  if (config_.cookie_httponly) out += "; HttpOnly";
  if (max_age) out += "; Max-Age=" + std::to_string(*max_age);
  if (!config_.cookie_path.empty()) out += "; Path=" + config_.cookie_path;
  out += std::string("; SameSite=") + same_site_text(config_.cookie_samesite);
  if (config_.cookie_secure) out += "; Secure";
  return out;
}

HttpAnswer CookieTransport::login_answer(const std::string& token) const {
  return no_content_with_cookie(set_cookie_value(token, config_.cookie_max_age));
}

HttpAnswer CookieTransport::logout_answer() const {
  // Python quotes the empty value: the header carries literally `name=""`.
  return no_content_with_cookie(set_cookie_value("\"\"", 0));
}

}  // namespace doorman::authcore
