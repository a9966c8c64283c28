// JSON Web Tokens as fastapi-users (PyJWT) writes and checks them: HS256,
// RS256, ES256 with OpenSSL; constant-time HMAC compare; `alg: none` and any
// algorithm other than the configured one refused.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "authcore/result.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

enum class JwtStatus {
  ok,
  malformed,      // not three base64url segments of JSON objects
  bad_algorithm,  // header alg is not the configured one (incl. none)
  bad_signature,
  expired,        // exp <= now
  not_yet_valid,  // nbf or iat in the future
  bad_audience,   // aud missing or not containing the required one
  bad_claims,     // exp/nbf/iat not numbers, etc.
};

// Holds the key material for one algorithm; built once from config.
class JwtKey {
 public:
  // HS256: `secret`. RS256/ES256: PEM strings; either may be empty when only
  // signing or only verifying is needed. Throws std::runtime_error on bad PEM (startup).
  JwtKey(config::JwtAlgorithm algorithm, std::string secret, const std::string& private_key_pem,
         const std::string& public_key_pem);
  ~JwtKey();
  JwtKey(const JwtKey&) = delete;
  JwtKey& operator=(const JwtKey&) = delete;

  config::JwtAlgorithm algorithm() const { return algorithm_; }

  // Signs `claims` (serialized compactly, keys in the insertion order given) with
  // header {"alg":"<alg>","typ":"JWT"}.
  std::string sign(const nlohmann::ordered_json& claims) const;

  // Verifies signature, algorithm, exp/nbf/iat against `now` (no leeway), and that
  // `aud` (string or list) contains `audience`. On success the claims object.
  Result<nlohmann::json, JwtStatus> verify(std::string_view token, std::string_view audience,
                                           std::chrono::system_clock::time_point now) const;

 private:
  struct Impl;
  config::JwtAlgorithm algorithm_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::authcore
