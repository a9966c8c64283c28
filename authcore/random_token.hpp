// Opaque tokens for the database and Redis strategies and CSRF values:
// 32 CSPRNG bytes, URL-safe base64 without padding (43 characters).
#pragma once

#include <string>

namespace doorman::authcore {

std::string new_opaque_token();
// True when `token` has the shape new_opaque_token() produces (43 chars of the URL-safe alphabet).
bool looks_like_opaque_token(std::string_view token);

}  // namespace doorman::authcore
