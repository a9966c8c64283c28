// URL-safe base64 without padding (JWT segments, opaque tokens), and the
// standard unpadded base64 of PHC password strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace doorman::authcore {

std::string base64url_encode(std::string_view bytes);
// nullopt on a character outside the alphabet or an impossible length; accepts no padding.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard alphabet (+ /), no padding: the salt and hash fields of PHC strings.
std::string base64_encode(std::string_view bytes);
// nullopt on a character outside the alphabet ('=' included) or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace doorman::authcore
