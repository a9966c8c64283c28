// Tests for proxy/hash_wire.cpp: jobs and answers cross a real socket pair
// intact; every malformed frame, and a peer that is gone, end the conversation.
#include "proxy/hash_wire.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <doctest/doctest.h>

using doorman::authcore::HashJob;
using doorman::authcore::HashReply;
using doorman::authcore::PasswordCheck;
using namespace doorman::proxy;

namespace {

struct StreamPair {
  int a = -1;
  int b = -1;
  StreamPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, &a) == 0); }
  ~StreamPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  void close_a() { ::close(a), a = -1; }
};

// A frame of exactly these payload bytes, as a broken or hostile peer could send it.
void send_raw_frame(int fd, const std::string& payload, std::uint32_t declared) {
  std::string frame(sizeof declared, '\0');
  std::memcpy(frame.data(), &declared, sizeof declared);
  frame += payload;
  REQUIRE(::send(fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
}

std::string job_payload(char kind, std::uint32_t password_size, const std::string& rest) {
  std::string payload(1, kind);
  payload.append(reinterpret_cast<const char*>(&password_size), sizeof password_size);
  return payload + rest;
}

}  // namespace

TEST_CASE("a verify job crosses intact, NUL bytes and all; so does a hash job") {
  StreamPair pair;
  const std::string password("pass\0word\xc3\xa9", 11);
  REQUIRE(send_hash_job(pair.a, HashJob{HashJob::Kind::verify, password, "$argon2id$v=19$stored"}));
  REQUIRE(send_hash_job(pair.a, HashJob{HashJob::Kind::hash, "new one", {}}));
  const auto verify = receive_hash_job(pair.b);
  REQUIRE(verify);
  CHECK(verify->kind == HashJob::Kind::verify);
  CHECK(verify->password == password);
  CHECK(verify->stored_hash == "$argon2id$v=19$stored");
  const auto hash = receive_hash_job(pair.b);
  REQUIRE(hash);
  CHECK(hash->kind == HashJob::Kind::hash);
  CHECK(hash->password == "new one");
  CHECK(hash->stored_hash.empty());
  CHECK(hash->view().password == "new one");
}

TEST_CASE("an empty password is a job like any other") {
  StreamPair pair;
  REQUIRE(send_hash_job(pair.a, HashJob{HashJob::Kind::verify, "", "$2b$12$x"}));
  const auto job = receive_hash_job(pair.b);
  REQUIRE(job);
  CHECK(job->password.empty());
  CHECK(job->stored_hash == "$2b$12$x");
}

TEST_CASE("answers cross intact: a hash, each password check, an error") {
  StreamPair pair;
  HashReply hashed;
  hashed.hash = "$argon2id$v=19$m=65536,t=3,p=1$salt$hash";
  REQUIRE(send_hash_answer(pair.a, HashJob::Kind::hash, HashAnswer(hashed)));
  const auto got = receive_hash_answer(pair.b, HashJob::Kind::hash);
  REQUIRE(got);
  REQUIRE(got->ok());
  CHECK(got->value().hash == hashed.hash);

  for (PasswordCheck check : {PasswordCheck::wrong, PasswordCheck::ok, PasswordCheck::ok_needs_rehash,
                              PasswordCheck::unknown_format}) {
    HashReply reply;
    reply.check = check;
    REQUIRE(send_hash_answer(pair.a, HashJob::Kind::verify, HashAnswer(reply)));
    const auto answer = receive_hash_answer(pair.b, HashJob::Kind::verify);
    REQUIRE(answer);
    REQUIRE(answer->ok());
    CHECK(answer->value().check == check);
  }

  REQUIRE(send_hash_answer(pair.a, HashJob::Kind::verify, HashAnswer(std::string("out of memory"))));
  const auto failed = receive_hash_answer(pair.b, HashJob::Kind::verify);
  REQUIRE(failed);
  REQUIRE_FALSE(failed->ok());
  CHECK(failed->error() == "out of memory");
}

// What one malformed frame is, and whether the peer then closes.
struct Malformed {
  const char* what;
  std::string payload;
  std::uint32_t declared;
  bool then_close = false;
};

Malformed frame(const char* what, std::string payload) {
  const auto size = static_cast<std::uint32_t>(payload.size());
  return {what, std::move(payload), size};
}

TEST_CASE("malformed jobs are refused") {
  const Malformed cases[] = {
      frame("an unknown kind", job_payload('x', 2, "pw")),
      frame("a password longer than the frame", job_payload('v', 50, "pw$hash")),
      frame("a frame too short for the kind and length", std::string("v\x01", 2)),
      frame("a hash job that carries a stored hash", job_payload('h', 2, "pw$argon2id$")),
      {"a frame that declares more than the largest allowed", "",
       static_cast<std::uint32_t>(max_hash_frame_bytes + 1)},
      {"a frame cut short by the peer closing", job_payload('v', 2, "pw"), 100, true},
      {"no frame at all: the peer closed", "", 0, true},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.what);
    StreamPair pair;
    if (!bad.payload.empty() || bad.declared != 0) send_raw_frame(pair.a, bad.payload, bad.declared);
    if (bad.then_close) pair.close_a();
    CHECK_FALSE(receive_hash_job(pair.b));
  }
}

TEST_CASE("malformed answers are refused") {
  const std::pair<Malformed, HashJob::Kind> cases[] = {
      {frame("a password check outside the known ones", std::string("o\x09", 2)), HashJob::Kind::verify},
      {frame("a verify answer of more than one byte", std::string("o\x01\x01", 3)), HashJob::Kind::verify},
      {frame("an empty hash", "o"), HashJob::Kind::hash},
      {frame("an unknown status", "x$argon2id$"), HashJob::Kind::hash},
      {frame("an empty frame", ""), HashJob::Kind::hash},
  };
  for (const auto& [bad, kind] : cases) {
    CAPTURE(bad.what);
    StreamPair pair;
    send_raw_frame(pair.a, bad.payload, bad.declared);
    CHECK_FALSE(receive_hash_answer(pair.b, kind));
  }
}

TEST_CASE("sending to a peer that is gone fails instead of raising SIGPIPE") {
  StreamPair pair;
  ::close(pair.b);
  pair.b = -1;
  CHECK_FALSE(send_hash_job(pair.a, HashJob{HashJob::Kind::hash, "pw", {}}));
  CHECK_FALSE(send_hash_answer(pair.a, HashJob::Kind::verify, HashAnswer(HashReply{})));
}

TEST_CASE("a job too large for one frame is not sent") {
  StreamPair pair;
  const std::string huge(max_hash_frame_bytes, 'p');
  CHECK_FALSE(send_hash_job(pair.a, HashJob{HashJob::Kind::verify, huge, "$argon2id$"}));
}

TEST_CASE("the control socket: ready, then job sockets handed over; anything else is skipped") {
  int control[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, control) == 0);
  REQUIRE(send_ready(control[1]));
  CHECK(receive_ready(control[0]));

  StreamPair job;
  // A message without a socket, then one with: only the second is a job.
  REQUIRE(::send(control[0], "j", 1, 0) == 1);
  REQUIRE(send_job_socket(control[0], job.b));
  const int received = receive_job_socket(control[1]);
  REQUIRE(received >= 0);
  CHECK(received != job.b);  // a descriptor of its own for the same socket
  CHECK((::fcntl(received, F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(send_hash_job(job.a, HashJob{HashJob::Kind::hash, "through the handed socket", {}}));
  const auto arrived = receive_hash_job(received);
  REQUIRE(arrived);
  CHECK(arrived->password == "through the handed socket");
  ::close(received);

  ::close(control[0]);
  CHECK(receive_job_socket(control[1]) == -1);  // doorman gone
  CHECK_FALSE(send_ready(control[1]));
  ::close(control[1]);
}

TEST_CASE("a ready message that is not one is refused") {
  int control[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, control) == 0);
  REQUIRE(::send(control[1], "x", 1, 0) == 1);
  CHECK_FALSE(receive_ready(control[0]));
  ::close(control[1]);
  CHECK_FALSE(receive_ready(control[0]));  // closed before saying anything
  ::close(control[0]);
}
