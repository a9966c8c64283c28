// Password hashing (api-contract.md §13, DESIGN.md §6): Argon2id PHC strings
// from libsodium; verification of Argon2id/Argon2i (libsodium, any p) and
// bcrypt (libcrypt); the "older or weaker" rehash rule.
//
// Formats refused as unknown_format, where pwdlib would verify:
// - `$argon2d$`: libsodium implements only Argon2i and Argon2id.
// - Argon2 without `v=19` (a missing `v=` means version 1.0, which libsodium
//   does not implement; argon2-cffi never writes it).
// An Argon2 or bcrypt string that does not parse is unknown_format too
// (pwdlib answers "wrong" for a malformed Argon2 string and raises for bcrypt;
// both end as LOGIN_BAD_CREDENTIALS).
// bcrypt, like libxcrypt and Python's bcrypt 4, uses the first 72 bytes of the
// password; a password containing NUL never matches a bcrypt hash (libcrypt
// would cut it there).
#include "authcore/password.hpp"

#include <charconv>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include <crypt.h>
#include <sodium.h>

#include "authcore/base64url.hpp"
#include "authcore/random_token.hpp"

namespace doorman::authcore {
namespace {

enum class Argon2Type { argon2i, argon2id };

struct Argon2Params {
  Argon2Type type;
  std::uint32_t memory_kib;  // m
  std::uint32_t passes;      // t
};

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<std::uint32_t> consume_u32(std::string_view& s) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return value;
}

bool is_base64_field(std::string_view field) {
  const auto bytes = base64_decode(field);
  return bytes && !bytes->empty();
}

// `$argon2{i,id}$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>` as libsodium can verify it.
std::optional<Argon2Params> parse_argon2(std::string_view s) {
  Argon2Params params{};
  if (consume(s, "$argon2id$")) {
    params.type = Argon2Type::argon2id;
  } else if (consume(s, "$argon2i$")) {
    params.type = Argon2Type::argon2i;
  } else {
    return std::nullopt;
  }
  if (!consume(s, "v=19$") || !consume(s, "m=")) return std::nullopt;
  const auto m = consume_u32(s);
  if (!m || !consume(s, ",t=")) return std::nullopt;
  const auto t = consume_u32(s);
  if (!t || !consume(s, ",p=")) return std::nullopt;
  const auto p = consume_u32(s);
  if (!p || *p == 0 || !consume(s, "$")) return std::nullopt;
  const auto dollar = s.find('$');
  if (dollar == std::string_view::npos || !is_base64_field(s.substr(0, dollar)) ||
      !is_base64_field(s.substr(dollar + 1)))
    return std::nullopt;
  params.memory_kib = *m;
  params.passes = *t;
  return params;
}

// `$2a$`/`$2b$`/`$2x$`/`$2y$`, two-digit cost, 53 chars of bcrypt's base64 (salt + hash).
bool looks_like_bcrypt(std::string_view s) {
  constexpr std::size_t bcrypt_length = 60;
  if (s.size() != bcrypt_length || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$') return false;
  if (s[2] != 'a' && s[2] != 'b' && s[2] != 'x' && s[2] != 'y') return false;
  if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9') return false;
  for (const char c : s.substr(7)) {
    const bool ok =
        c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

PasswordCheck verify_bcrypt(std::string_view password, std::string_view stored_hash) {
  const std::string phrase(password);
  if (phrase.find('\0') != std::string::npos) return PasswordCheck::wrong;
  const std::string setting(stored_hash);
  // crypt_data is ~32 KiB: keep it off coroutine and worker stacks.
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  if (computed == nullptr) return PasswordCheck::unknown_format;  // e.g. cost outside 04..31
  const std::string_view out(computed);
  const bool match =
      out.size() == stored_hash.size() && sodium_memcmp(out.data(), stored_hash.data(), out.size()) == 0;
  sodium_memzero(data.get(), sizeof(crypt_data));
  // Any bcrypt hash is older than the current scheme: rehash on success.
  return match ? PasswordCheck::ok_needs_rehash : PasswordCheck::wrong;
}

}  // namespace

PasswordHasher::PasswordHasher(PasswordHasherParams params, HashRunner runner)
    : params_(params), runner_(std::move(runner)) {
  init_sodium();
  if (params_.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params_.mem_limit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN)
    throw std::invalid_argument("Argon2id parameters below libsodium's minimum");
}

std::string PasswordHasher::hash(std::string_view password) const {
  const HashJob job{HashJob::Kind::hash, password, {}};
  return runner_ ? runner_(job).hash : hash_here(password);
}

PasswordCheck PasswordHasher::verify(std::string_view password, std::string_view stored_hash) const {
  const HashJob job{HashJob::Kind::verify, password, stored_hash};
  return runner_ ? runner_(job).check : verify_here(password, stored_hash);
}

HashReply PasswordHasher::compute(const HashJob& job) const {
  HashReply reply;
  if (job.kind == HashJob::Kind::hash)
    reply.hash = hash_here(job.password);
  else
    reply.check = verify_here(job.password, job.stored_hash);
  return reply;
}

std::string PasswordHasher::hash_here(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.ops_limit, params_.mem_limit_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("Argon2id hashing failed (out of memory)");
  return out;
}

PasswordCheck PasswordHasher::verify_here(std::string_view password, std::string_view stored_hash) const {
  if (looks_like_bcrypt(stored_hash)) return verify_bcrypt(password, stored_hash);
  const auto argon2 = parse_argon2(stored_hash);
  if (!argon2) return PasswordCheck::unknown_format;
  const std::string terminated(stored_hash);  // libsodium reads a C string
  if (crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) != 0)
    return PasswordCheck::wrong;
  // DESIGN §6: rehash only what is weaker than the current parameters, never a
  // mere p difference, or doorman (p=1) and fastapi-users (p=4) would fight.
  const bool weaker =
      argon2->type != Argon2Type::argon2id ||
      argon2->memory_kib < params_.mem_limit_bytes / 1024 ||  // libsodium writes m = bytes / 1024
      argon2->passes < params_.ops_limit;
  return weaker ? PasswordCheck::ok_needs_rehash : PasswordCheck::ok;
}

void PasswordHasher::burn(std::string_view password) const { (void)hash(password); }

}  // namespace doorman::authcore
