// Hook event bodies and their HMAC-SHA256 signatures; see event_body.hpp.
#include "authcore/event_body.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "config/hex.hpp"

namespace doorman::authcore {

std::string event_body(std::string_view name, const User& user, const std::optional<std::string>& token,
                       const std::optional<std::vector<std::string>>& fields) {
  nlohmann::ordered_json j;
  j["event"] = std::string(name);
  // The same object, in the same order, as the user's public JSON (user_json).
  j["user"] = nlohmann::ordered_json{
      {"id", user.id},
      {"email", user.email},
      {"is_active", user.is_active},
      {"is_superuser", user.is_superuser},
      {"is_verified", user.is_verified},
  };
  if (token) j["token"] = *token;
  if (fields) j["fields"] = *fields;
  // replace: a stored email that is not UTF-8 must not throw on the request path.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // An empty secret is legal in config; give OpenSSL a valid pointer anyway.
  static const unsigned char empty_key = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&empty_key) : secret.data();
  if (!HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len)) {
    throw std::runtime_error("HMAC-SHA256 failed");  // only if OpenSSL itself is broken
  }
  return config::lower_hex(mac, mac_len);
}

std::string event_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

}  // namespace doorman::authcore
