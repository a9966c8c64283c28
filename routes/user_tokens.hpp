// The verify and reset JWTs of fastapi-users (api-contract.md §12, DESIGN.md
// §6): claims in upstream's issue order, string audiences, HS256 with
// users.verification_token_secret / users.reset_password_token_secret, and
// reading them back into the claims the routes check. Built once per AuthApi.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "authcore/jwt.hpp"
#include "authcore/password.hpp"
#include "authcore/user.hpp"
#include "config/config.hpp"

namespace doorman::routes {

inline constexpr std::string_view kVerifyAudience = "fastapi-users:verify";
inline constexpr std::string_view kResetAudience = "fastapi-users:reset";

// Claims of a token that decoded; absent or non-string claims are nullopt, so
// each route decides which absence is an error.
struct VerifyClaims {
  std::optional<std::string> sub;
  std::optional<std::string> email;
};
struct ResetClaims {
  std::optional<std::string> sub;
  std::optional<std::string> password_fgpt;
};

class UserTokens {
 public:
  explicit UserTokens(const config::UsersConfig& users);

  // {"sub","email","aud","exp"}
  std::string verify_token(const authcore::User& user) const;
  // nullopt: signature, algorithm, exp, audience or format refused.
  std::optional<VerifyClaims> read_verify_token(std::string_view token) const;

  // {"sub","password_fgpt","aud","exp"}; the fingerprint is a salted Argon2id
  // hash of the stored hash string (not a digest: fastapi-users verifies it).
  std::string reset_token(const authcore::User& user, const authcore::PasswordHasher& hasher) const;
  std::optional<ResetClaims> read_reset_token(std::string_view token) const;
  // The fingerprint still matches the user's current hash (a changed password kills the token).
  static bool fingerprint_matches(const authcore::User& user, std::string_view password_fgpt,
                                  const authcore::PasswordHasher& hasher);

 private:
  authcore::JwtKey verify_key_;
  authcore::JwtKey reset_key_;
  int verify_lifetime_seconds_;
  int reset_lifetime_seconds_;
};

}  // namespace doorman::routes
