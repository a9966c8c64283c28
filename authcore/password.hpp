// Password hashing as DESIGN.md §6: new hashes Argon2id (libsodium); verify
// Argon2id/Argon2i of any parameters and bcrypt $2a$/$2b$/$2x$/$2y$ (libcrypt);
// ask for a rehash when the stored hash is bcrypt or weaker Argon2.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace doorman::authcore {

enum class PasswordCheck {
  wrong,
  ok,
  ok_needs_rehash,
  unknown_format,  // not a recognised hash: upstream raises (500)
};

struct PasswordHasherParams {
  unsigned long long ops_limit = 3;         // Argon2 passes (t)
  std::size_t mem_limit_bytes = 64u << 20;  // 64 MiB (m=65536 KiB)
};

// Where the CPU-heavy part (Argon2, bcrypt) runs: `run(job)` calls job() on
// some thread and returns once it has finished, rethrowing what it threw.
// Empty: on the calling thread.
using HashRunner = std::function<void(const std::function<void()>& job)>;

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordHasherParams params = {}, HashRunner runner = {});
  // `$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`
  std::string hash(std::string_view password) const;
  PasswordCheck verify(std::string_view password, std::string_view stored_hash) const;
  // Runs a hash of `password` and discards it: the timing equaliser for unknown users.
  void burn(std::string_view password) const;

 private:
  std::string hash_here(std::string_view password) const;
  PasswordCheck verify_here(std::string_view password, std::string_view stored_hash) const;

  PasswordHasherParams params_;
  HashRunner runner_;
};

}  // namespace doorman::authcore
