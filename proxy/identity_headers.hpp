// Which request headers doorman removes before forwarding (hop-by-hop, Connection
// tokens, client identity headers in every spelling, untrusted X-Forwarded-*) and
// what it adds (identity of the resolved user, X-Forwarded-For/-Proto/-Host).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authcore/user.hpp"
#include "config/config.hpp"

namespace doorman::proxy {

// Folds a header name for identity comparison: ASCII lower case, '_' -> '-'.
std::string fold_header_name(std::string_view name);

// Appends the folded tokens of one Connection header value ("close, X-Foo") to
// `tokens`; call once per Connection header, then pass `tokens` to drop_request_header.
void append_connection_tokens(std::string_view connection_value, std::vector<std::string>& tokens);

class HeaderPolicy {
 public:
  explicit HeaderPolicy(const config::Config& config);

  // True when a client request header must not reach the upstream. `connection_tokens`
  // are the folded tokens of the request's Connection header(s); they never remove a
  // header doorman sets itself (identity, X-Forwarded-*) nor Host. Always dropped:
  // hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
  // Transfer-Encoding, Upgrade) and Proxy-Authorization; identity headers in any
  // spelling; Forwarded and X-Forwarded-* unless the client is a trusted proxy.
  bool drop_request_header(std::string_view name, const std::vector<std::string>& connection_tokens,
                           bool client_is_trusted_proxy) const;

  // The identity headers for `user` (none for nullptr or an inactive user), in order:
  // id, email, superuser "true"/"false", verified "true"/"false".
  std::vector<std::pair<std::string, std::string>> identity_for(const authcore::User* user) const;

  // X-Forwarded-For value: the client's prior chain (only if trusted) + client address.
  std::string forwarded_for(std::string_view prior_chain, std::string_view client_address,
                            bool client_is_trusted_proxy) const;

  bool is_trusted_proxy(std::string_view client_address) const;

  // forward_credentials: false drops Authorization and doorman's cookies.
  bool forward_credentials() const { return forward_credentials_; }

 private:
  std::vector<std::string> identity_names_;   // configured spellings
  std::vector<std::string> identity_folded_;  // folded
  std::vector<config::Cidr> trusted_;
  bool forward_credentials_ = true;
};

// Removes the named cookies from a Cookie header value; returns the rest ("" if none left).
std::string strip_cookies(std::string_view cookie_header, const std::vector<std::string>& names);

}  // namespace doorman::proxy
