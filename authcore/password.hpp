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

// One piece of the CPU-heavy part (Argon2, bcrypt) and its answer: what a
// HashRunner carries to wherever that work runs (a thread pool, a helper
// process), so the job is plain data that can cross a process boundary.
struct HashJob {
  enum class Kind : char { hash = 'h', verify = 'v' };
  Kind kind = Kind::hash;
  std::string_view password;
  std::string_view stored_hash;  // verify only
};

struct HashReply {
  std::string hash;                            // Kind::hash
  PasswordCheck check = PasswordCheck::wrong;  // Kind::verify
};

// Does `job` somewhere (PasswordHasher::compute() with the same parameters)
// and returns once it has finished; throws when it could not be done.
// Empty: on the calling thread.
using HashRunner = std::function<HashReply(const HashJob& job)>;

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordHasherParams params = {}, HashRunner runner = {});
  // `$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`
  std::string hash(std::string_view password) const;
  PasswordCheck verify(std::string_view password, std::string_view stored_hash) const;
  // Runs a hash of `password` and discards it: the timing equaliser for unknown users.
  void burn(std::string_view password) const;
  // Does `job` on the calling thread, whatever the runner: what a runner calls.
  HashReply compute(const HashJob& job) const;

 private:
  std::string hash_here(std::string_view password) const;
  PasswordCheck verify_here(std::string_view password, std::string_view stored_hash) const;

  PasswordHasherParams params_;
  HashRunner runner_;
};

}  // namespace doorman::authcore
