// A transport finds a token in a request and shapes login/logout answers
// (fastapi-users' BearerTransport and CookieTransport).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authcore/http_answer.hpp"

namespace doorman::authcore {

// What transports read from a request; proxy fills it from the header.
struct RequestCredentials {
  std::string_view authorization;  // the Authorization header, empty if absent
  std::string_view cookie;         // the Cookie header(s) joined with "; ", empty if absent
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::optional<std::string_view> extract(const RequestCredentials& credentials) const = 0;
  virtual HttpAnswer login_answer(const std::string& token) const = 0;
  virtual HttpAnswer logout_answer() const = 0;
  // The cookie name this transport owns, if any (forward_credentials: false drops it upstream).
  virtual std::optional<std::string> cookie_name() const = 0;
};

using TransportPtr = std::shared_ptr<Transport>;

// Returns the value of cookie `name` in a Cookie header, nullopt if absent. Parsed as
// Starlette does: when the name repeats, the last occurrence wins; quotes are stripped.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

// `text` without the characters Python's str.strip() removes from a header value
// (Starlette decodes headers as latin-1, so bytes 0x85 and 0xA0 count).
std::string_view strip_python_whitespace(std::string_view text);

}  // namespace doorman::authcore
