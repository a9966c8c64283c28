// The hash helper's wire: the control socket's messages, and frames for the
// job sockets (whole-frame reads and writes that survive EINTR and short
// transfers) with their two payload layouts.
//   job:    kind (1 byte: 'h' or 'v') | password length (4) | password | stored hash (the rest)
//   answer: 'o' | hash (the rest)          for a hash job
//           'o' | check (1 byte)           for a verify job
//           'e' | why it failed (the rest) for either
#include "proxy/hash_wire.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace doorman::proxy {
namespace {

using authcore::HashJob;
using authcore::PasswordCheck;

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    // MSG_NOSIGNAL: a helper gone mid-job is an error to report, not a SIGPIPE.
    const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

bool receive_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t got = ::recv(fd, data, size, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;  // 0: the peer closed
    data += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

void append_u32(std::string& out, std::uint32_t value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

bool send_frame(int fd, const std::string& payload) {
  if (payload.size() > max_hash_frame_bytes) return false;
  std::string frame;
  frame.reserve(sizeof(std::uint32_t) + payload.size());
  append_u32(frame, static_cast<std::uint32_t>(payload.size()));
  frame += payload;
  return send_all(fd, frame.data(), frame.size());
}

std::optional<std::string> receive_frame(int fd) {
  std::uint32_t size = 0;
  if (!receive_all(fd, reinterpret_cast<char*>(&size), sizeof size)) return std::nullopt;
  if (size > max_hash_frame_bytes) return std::nullopt;
  std::string payload(size, '\0');
  if (!receive_all(fd, payload.data(), payload.size())) return std::nullopt;
  return payload;
}

bool known_check(char byte) {
  switch (static_cast<PasswordCheck>(byte)) {
    case PasswordCheck::wrong:
    case PasswordCheck::ok:
    case PasswordCheck::ok_needs_rehash:
    case PasswordCheck::unknown_format:
      return true;
  }
  return false;
}

// Control messages are one byte; a job socket rides on one as SCM_RIGHTS.
constexpr char ready_message = 'r';
constexpr char job_message = 'j';

}  // namespace

bool send_ready(int control_fd) { return ::send(control_fd, &ready_message, 1, MSG_NOSIGNAL) == 1; }

bool receive_ready(int control_fd) {
  char byte = 0;
  return ::recv(control_fd, &byte, 1, 0) == 1 && byte == ready_message;
}

bool send_job_socket(int control_fd, int job_fd) {
  char byte = job_message;
  iovec payload{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(rights), &job_fd, sizeof(int));
  ssize_t sent = 0;
  do {
    sent = ::sendmsg(control_fd, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent == 1;
}

int receive_job_socket(int control_fd) {
  char byte = 0;
  iovec payload{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  for (;;) {
    msghdr message{};
    message.msg_iov = &payload;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(control_fd, &message, MSG_CMSG_CLOEXEC);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    const cmsghdr* rights = CMSG_FIRSTHDR(&message);
    if (byte != job_message || rights == nullptr || rights->cmsg_level != SOL_SOCKET ||
        rights->cmsg_type != SCM_RIGHTS || rights->cmsg_len != CMSG_LEN(sizeof(int)))
      continue;  // not a job with exactly one socket: nothing to answer on
    int job_fd = -1;
    std::memcpy(&job_fd, CMSG_DATA(rights), sizeof(int));
    return job_fd;
  }
}

bool send_hash_job(int fd, const HashJob& job) {
  std::string payload;
  payload.reserve(1 + sizeof(std::uint32_t) + job.password.size() + job.stored_hash.size());
  payload += static_cast<char>(job.kind);
  if (job.password.size() > max_hash_frame_bytes) return false;
  append_u32(payload, static_cast<std::uint32_t>(job.password.size()));
  payload += job.password;
  payload += job.stored_hash;
  return send_frame(fd, payload);
}

std::optional<ReceivedHashJob> receive_hash_job(int fd) {
  auto payload = receive_frame(fd);
  if (!payload) return std::nullopt;
  std::string_view rest(*payload);
  std::uint32_t password_size = 0;
  if (rest.size() < 1 + sizeof password_size) return std::nullopt;
  ReceivedHashJob job;
  if (rest[0] == static_cast<char>(HashJob::Kind::hash))
    job.kind = HashJob::Kind::hash;
  else if (rest[0] == static_cast<char>(HashJob::Kind::verify))
    job.kind = HashJob::Kind::verify;
  else
    return std::nullopt;
  std::memcpy(&password_size, rest.data() + 1, sizeof password_size);
  rest.remove_prefix(1 + sizeof password_size);
  if (password_size > rest.size()) return std::nullopt;
  job.password.assign(rest.substr(0, password_size));
  job.stored_hash.assign(rest.substr(password_size));
  if (job.kind == HashJob::Kind::hash && !job.stored_hash.empty()) return std::nullopt;
  return job;
}

bool send_hash_answer(int fd, HashJob::Kind kind, const HashAnswer& answer) {
  std::string payload;
  if (!answer) {
    payload = 'e' + answer.error();
  } else if (kind == HashJob::Kind::hash) {
    payload = 'o' + answer.value().hash;
  } else {
    payload = {'o', static_cast<char>(answer.value().check)};
  }
  return send_frame(fd, payload);
}

std::optional<HashAnswer> receive_hash_answer(int fd, HashJob::Kind kind) {
  auto payload = receive_frame(fd);
  if (!payload || payload->empty()) return std::nullopt;
  const std::string_view body = std::string_view(*payload).substr(1);
  if ((*payload)[0] == 'e') return HashAnswer(std::string(body));
  if ((*payload)[0] != 'o') return std::nullopt;
  authcore::HashReply reply;
  if (kind == HashJob::Kind::hash) {
    if (body.empty()) return std::nullopt;
    reply.hash.assign(body);
  } else {
    if (body.size() != 1 || !known_check(body[0])) return std::nullopt;
    reply.check = static_cast<PasswordCheck>(body[0]);
  }
  return HashAnswer(std::move(reply));
}

}  // namespace doorman::proxy
