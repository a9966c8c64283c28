// Opaque tokens for the database and Redis strategies and CSRF values:
// 32 CSPRNG bytes, URL-safe base64 without padding (43 characters).
// Also the one place libsodium is initialised and its CSPRNG is reached.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace doorman::authcore {

std::string new_opaque_token();
// True when `token` has the shape new_opaque_token() produces (43 chars of the URL-safe alphabet).
bool looks_like_opaque_token(std::string_view token);

// Initialises libsodium once (thread-safe); call before any other libsodium function.
// Throws std::runtime_error if libsodium cannot start (no entropy source).
void init_sodium();
// Fills `out` with `size` bytes from libsodium's CSPRNG.
void random_bytes(void* out, std::size_t size);

}  // namespace doorman::authcore
