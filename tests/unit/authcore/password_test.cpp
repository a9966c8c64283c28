// Tests for authcore/password.cpp: fastapi-users fixture hashes (Argon2id p=4,
// bcrypt $2b$), argon2-cffi hashes, the rehash rule, refused formats.
#include "authcore/password.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace doorman::authcore;

namespace {

// From tests/fixtures/fastapi-users-14/app.db (user.hashed_password) and tokens.json.
constexpr const char* alice_hash =
    "$argon2id$v=19$m=65536,t=3,p=4$pDqmgms/THaPckhbx1c5sw$TOCne36OjG3/H0lpswqHIGqOjDqjTMqOqbpQJuo2+LU";
constexpr const char* alice_password = "alice-password-2024";
constexpr const char* bob_hash = "$2b$12$2z/Ji/4CTiDBlQA.AsbDFee/IfwSNT8srHOZRIts.o8PV8kUqhqta";
constexpr const char* bob_password = "bob-password-2024";

// Made with argon2-cffi 21.1 (argon2.PasswordHasher(..., type=...).hash) on /usr/bin/python3.
constexpr const char* argon2i_small =
    "$argon2i$v=19$m=64,t=1,p=1$DvdC9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ";  // "pw-i"
constexpr const char* argon2id_small_p4 =
    "$argon2id$v=19$m=64,t=1,p=4$T0DpQ0vdhA1W+RdHqGkDoQ$Dug+TEvVja/EZ2UDOBaU+w";  // "pw-id"
constexpr const char* argon2d_small =
    "$argon2d$v=19$m=64,t=1,p=1$ayTwT5oOJt6eALhB2o8a8Q$5CJ+33XHe2n33b5JDbywIw";
constexpr const char* argon2id_v16 =
    "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0MTIzNA$Ntaebg0uEGXW40V1ce3SaSZdRR5U0KWVmu/gq8CtWyo";

// Made by doorman (PasswordHasher{}) and verified once with argon2-cffi:
// argon2.PasswordHasher().verify(h, "doorman-pw \u00e9") is True.
constexpr const char* doorman_default_hash =
    "$argon2id$v=19$m=65536,t=3,p=1$Yb0Rt1wTXlTd3erZq+EsOg$mOO8sGaObRdbYHL2RV/rTOC8nMd1ShtQ3fPo3afhP54";

const PasswordHasherParams fast{1, 8 << 20};
const PasswordHasherParams minimal{1, 8192};

}  // namespace

TEST_CASE("fastapi-users fixture hashes verify with their passwords") {
  const PasswordHasher hasher;                                            // current parameters: t=3, m=64 MiB
  CHECK(hasher.verify(alice_password, alice_hash) == PasswordCheck::ok);  // p=4 is not a reason to rehash
  CHECK(hasher.verify("alice-password-2025", alice_hash) == PasswordCheck::wrong);
  CHECK(hasher.verify("", alice_hash) == PasswordCheck::wrong);
  CHECK(hasher.verify(bob_password, bob_hash) ==
        PasswordCheck::ok_needs_rehash);  // bcrypt is always upgraded
  CHECK(hasher.verify("Bob-password-2024", bob_hash) == PasswordCheck::wrong);
  CHECK(hasher.verify(std::string(bob_password) + std::string(1, '\0'), bob_hash) == PasswordCheck::wrong);
}

TEST_CASE("a doorman hash has the PHC shape and verifies") {
  const PasswordHasher hasher(fast);
  const std::string h = hasher.hash("s3cret \xc3\xa9");
  CHECK(h.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
  CHECK(h.size() == std::string_view("$argon2id$v=19$m=8192,t=1,p=1$").size() + 22 + 1 +
                        43);  // 16-byte salt, 32-byte hash
  CHECK(hasher.verify("s3cret \xc3\xa9", h) == PasswordCheck::ok);
  CHECK(hasher.verify("s3cret", h) == PasswordCheck::wrong);
  CHECK(hasher.hash("s3cret \xc3\xa9") != h);  // random salt
  CHECK(hasher.verify("", hasher.hash("")) == PasswordCheck::ok);
  CHECK(PasswordHasher{}.verify("doorman-pw \xc3\xa9", doorman_default_hash) == PasswordCheck::ok);
  hasher.burn("anything");
}

TEST_CASE("rehash when the stored Argon2 is weaker than the current parameters") {
  CHECK(PasswordHasher(minimal).verify("pw-id", argon2id_small_p4) == PasswordCheck::ok);
  CHECK(PasswordHasher({2, 8192}).verify("pw-id", argon2id_small_p4) ==
        PasswordCheck::ok_needs_rehash);  // t < 2
  CHECK(PasswordHasher({1, 128 << 10}).verify("pw-id", argon2id_small_p4) ==
        PasswordCheck::ok_needs_rehash);                                                           // m
  CHECK(PasswordHasher({1, 64 << 10}).verify("pw-id", argon2id_small_p4) == PasswordCheck::ok);    // m equal
  CHECK(PasswordHasher(minimal).verify("pw-i", argon2i_small) == PasswordCheck::ok_needs_rehash);  // argon2i
  CHECK(PasswordHasher(minimal).verify("pw-x", argon2i_small) == PasswordCheck::wrong);
  // A hash the current parameters just wrote never asks for a rehash.
  const PasswordHasher hasher(fast);
  CHECK(hasher.verify("pw", hasher.hash("pw")) == PasswordCheck::ok);
  // Memory limits that are not a multiple of 1 KiB round down as libsodium writes them.
  const PasswordHasher odd({1, (8 << 20) + 512});
  CHECK(odd.verify("pw", odd.hash("pw")) == PasswordCheck::ok);
}

TEST_CASE("bcrypt variants verify through libcrypt") {
  const PasswordHasher hasher(minimal);
  const std::string tail = std::string(bob_hash).substr(3);  // "$12$..."
  for (const char* prefix : {"$2a", "$2b", "$2y"}) {
    CAPTURE(prefix);
    CHECK(hasher.verify(bob_password, prefix + tail) == PasswordCheck::ok_needs_rehash);
    CHECK(hasher.verify("nope", prefix + tail) == PasswordCheck::wrong);
  }
}

TEST_CASE("unrecognised or unsupported hashes are unknown_format") {
  const PasswordHasher hasher(minimal);
  const std::string bob = bob_hash;
  const char* unknown[] = {
      "",
      "garbage",
      "plaintext-password",
      "$argon2$v=19$m=64,t=1,p=1$DvdC9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ",
      "$argon2id$v=19$m=64,t=1$DvdC9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ",
      "$argon2id$v=19$m=64,t=1,p=1$DvdC9aa8sVzSAiPL7XnaUQ",
      "$argon2id$v=19$m=64,t=1,p=1$DvdC9aa8sVzSAiPL7XnaUQ$",
      "$argon2id$v=19$m=64,t=1,p=1$Dvd-9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ",  // URL-safe char
      "$argon2id$v=19$m=64,t=1,p=0$DvdC9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ",
      "$argon2id$m=64,t=1,p=1$DvdC9aa8sVzSAiPL7XnaUQ$wtNuEkJFJFFfyV7DcmrKsQ",  // no v=: Argon2 1.0
      argon2id_v16,
      argon2d_small,  // libsodium has no Argon2d
      "$1$abcdefgh$abcdefghijklmnopqrstuv",
      "$5$rounds=5000$salt$hash",
      "$2b$12$short",
      "$2c$12$2z/Ji/4CTiDBlQA.AsbDFee/IfwSNT8srHOZRIts.o8PV8kUqhqta",
      "$2b$1$2z/Ji/4CTiDBlQA.AsbDFee/IfwSNT8srHOZRIts.o8PV8kUqhqtaa",
      "$2b$03$2z/Ji/4CTiDBlQA.AsbDFee/IfwSNT8srHOZRIts.o8PV8kUqhqta",  // cost below bcrypt's 4
      "$2b$12$2z/Ji/4CTiDBlQA.AsbDFee/IfwSNT8srHOZRIts.o8PV8kUqhqt!",
  };
  for (const char* stored : unknown) {
    CAPTURE(stored);
    CHECK(hasher.verify("pw-i", stored) == PasswordCheck::unknown_format);
  }
  CHECK(hasher.verify(bob_password, bob + "x") == PasswordCheck::unknown_format);
}

TEST_CASE("parameters below libsodium's minimum are refused at construction") {
  CHECK_THROWS_AS(PasswordHasher({0, 8 << 20}), std::invalid_argument);
  CHECK_THROWS_AS(PasswordHasher({1, 1024}), std::invalid_argument);
}

TEST_CASE(
    "with a runner, hashing and verifying run through it as plain jobs; results and exceptions come back") {
  const PasswordHasherParams params{1, 8u << 10};
  const PasswordHasher worker(params);  // what the runner's other side computes with
  std::vector<HashJob::Kind> kinds;
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> elsewhere{true};
  const HashRunner runner = [&](const HashJob& job) {
    kinds.push_back(job.kind);
    // The job crosses as data: copy what it names, as a helper process would receive it.
    const std::string password(job.password), stored(job.stored_hash);
    HashReply reply;
    std::thread([&] {
      if (std::this_thread::get_id() == caller) elsewhere = false;
      reply = worker.compute(HashJob{job.kind, password, stored});
    }).join();
    return reply;
  };
  const PasswordHasher hasher(params, runner);
  const std::string hashed = hasher.hash("correct horse");
  CHECK(hashed.starts_with("$argon2id$"));
  CHECK(hasher.verify("correct horse", hashed) == PasswordCheck::ok);
  CHECK(hasher.verify("wrong", hashed) == PasswordCheck::wrong);
  CHECK(hasher.verify("correct horse", "not a hash") == PasswordCheck::unknown_format);
  hasher.burn("anything");
  CHECK(kinds == std::vector{HashJob::Kind::hash, HashJob::Kind::verify, HashJob::Kind::verify,
                             HashJob::Kind::verify, HashJob::Kind::hash});
  CHECK(elsewhere);

  const HashRunner failing = [](const HashJob&) -> HashReply { throw std::runtime_error("pool gone"); };
  const PasswordHasher broken(params, failing);
  CHECK_THROWS_AS(broken.hash("x"), std::runtime_error);
  CHECK_THROWS_AS(broken.verify("x", hashed), std::runtime_error);
}

TEST_CASE("compute() does a job on the calling thread, as hash() and verify() would") {
  const PasswordHasher hasher(PasswordHasherParams{1, 8u << 10});
  const HashReply hashed = hasher.compute(HashJob{HashJob::Kind::hash, "pw", {}});
  CHECK(hashed.hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
  CHECK(hasher.compute(HashJob{HashJob::Kind::verify, "pw", hashed.hash}).check == PasswordCheck::ok);
  CHECK(hasher.compute(HashJob{HashJob::Kind::verify, "px", hashed.hash}).check == PasswordCheck::wrong);
}
