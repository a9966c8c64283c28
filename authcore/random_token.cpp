// Opaque tokens (fastapi-users' secrets.token_urlsafe(32)) and the shared
// libsodium start-up and CSPRNG access.
#include "authcore/random_token.hpp"

#include <array>
#include <stdexcept>

#include <sodium.h>

#include "authcore/base64url.hpp"

namespace doorman::authcore {
namespace {
constexpr std::size_t token_bytes = 32;
constexpr std::size_t token_chars = 43;  // ceil(32 * 4 / 3), unpadded
}  // namespace

void init_sodium() {
  // A function-local static is initialised exactly once, even under concurrent first calls.
  static const bool started = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    return true;
  }();
  (void)started;
}

void random_bytes(void* out, std::size_t size) {
  init_sodium();
  randombytes_buf(out, size);
}

std::string new_opaque_token() {
  std::array<unsigned char, token_bytes> bytes;
  random_bytes(bytes.data(), bytes.size());
  std::string token = base64url_encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  sodium_memzero(bytes.data(), bytes.size());
  return token;
}

bool looks_like_opaque_token(std::string_view token) {
  if (token.size() != token_chars) return false;
  for (const char c : token) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace doorman::authcore
