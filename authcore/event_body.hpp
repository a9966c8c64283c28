// The bytes of one hook event (DESIGN.md §8) and their signature: the JSON body
// `{"event","user","token"?,"fields"?}` and the hex HMAC-SHA256 that goes in
// `X-Doorman-Signature: sha256=<hex>`. Built once, when the event is fired, so a
// receiver verifies exactly the bytes it is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authcore/user.hpp"

namespace doorman::authcore {

// Compact, keys in the order above, non-ASCII characters left unescaped (like
// user_json). `token` and `fields` appear only when present.
std::string event_body(std::string_view name, const User& user, const std::optional<std::string>& token,
                       const std::optional<std::vector<std::string>>& fields);

// Lowercase hex HMAC-SHA256 of `body` keyed with `secret` (Python's
// hmac.new(secret, body, sha256).hexdigest()).
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

// The X-Doorman-Signature header value: "sha256=" + hmac_sha256_hex(secret, body).
std::string event_signature(std::string_view secret, std::string_view body);

}  // namespace doorman::authcore
