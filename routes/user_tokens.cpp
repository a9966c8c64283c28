// Verify and reset tokens; see user_tokens.hpp.
#include "routes/user_tokens.hpp"

#include <nlohmann/json.hpp>

namespace doorman::routes {

namespace {

// fastapi-users' generate_jwt: exp = now + lifetime in whole seconds, left
// out when the lifetime is 0 (Python's `if lifetime_seconds:`).
void add_expiry(nlohmann::ordered_json& claims, int lifetime_seconds) {
  if (lifetime_seconds == 0) return;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  claims["exp"] = now.time_since_epoch().count() + lifetime_seconds;
}

std::optional<nlohmann::json> decode(const authcore::JwtKey& key, std::string_view token,
                                     std::string_view audience) {
  auto claims = key.verify(token, audience, std::chrono::system_clock::now());
  if (!claims) return std::nullopt;
  return std::move(claims).value();
}

std::optional<std::string> string_claim(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

UserTokens::UserTokens(const config::UsersConfig& users)
    : verify_key_(config::JwtAlgorithm::HS256, users.verification_token_secret, {}, {}),
      reset_key_(config::JwtAlgorithm::HS256, users.reset_password_token_secret, {}, {}),
      verify_lifetime_seconds_(users.verification_token_lifetime_seconds),
      reset_lifetime_seconds_(users.reset_password_token_lifetime_seconds) {}

std::string UserTokens::verify_token(const authcore::User& user) const {
  nlohmann::ordered_json claims;
  claims["sub"] = user.id;
  claims["email"] = user.email;
  claims["aud"] = kVerifyAudience;
  add_expiry(claims, verify_lifetime_seconds_);
  return verify_key_.sign(claims);
}

std::optional<VerifyClaims> UserTokens::read_verify_token(std::string_view token) const {
  const auto claims = decode(verify_key_, token, kVerifyAudience);
  if (!claims) return std::nullopt;
  return VerifyClaims{string_claim(*claims, "sub"), string_claim(*claims, "email")};
}

std::string UserTokens::reset_token(const authcore::User& user,
                                    const authcore::PasswordHasher& hasher) const {
  nlohmann::ordered_json claims;
  claims["sub"] = user.id;
  claims["password_fgpt"] = hasher.hash(user.hashed_password);
  claims["aud"] = kResetAudience;
  add_expiry(claims, reset_lifetime_seconds_);
  return reset_key_.sign(claims);
}

std::optional<ResetClaims> UserTokens::read_reset_token(std::string_view token) const {
  const auto claims = decode(reset_key_, token, kResetAudience);
  if (!claims) return std::nullopt;
  return ResetClaims{string_claim(*claims, "sub"), string_claim(*claims, "password_fgpt")};
}

bool UserTokens::fingerprint_matches(const authcore::User& user, std::string_view password_fgpt,
                                     const authcore::PasswordHasher& hasher) {
  // Upstream: verify_and_update(user.hashed_password, password_fgpt), the
  // stored hash string playing the password. A fingerprint in an unknown
  // format raises upstream (500); doorman refuses the token (§15).
  switch (hasher.verify(user.hashed_password, password_fgpt)) {
    case authcore::PasswordCheck::ok:
    case authcore::PasswordCheck::ok_needs_rehash:
      return true;
    case authcore::PasswordCheck::wrong:
    case authcore::PasswordCheck::unknown_format:
      break;
  }
  return false;
}

}  // namespace doorman::routes
