// The hash helper's wire format (hash_helper.hpp), both of its channels.
// - The control socket (SOCK_SEQPACKET, at a fixed descriptor in the helper):
//   the helper says "ready" once, then doorman hands it one job socket per
//   message (SCM_RIGHTS).
// - Each job socket (a stream): one password job in, one answer out, each a
//   frame: a 4-byte length in host order, then the payload. Both ends are the
//   same binary on the same machine, so host order is safe; a frame that does
//   not parse ends the conversation.
#pragma once

#include <optional>
#include <string>

#include "authcore/password.hpp"
#include "authcore/result.hpp"

namespace doorman::proxy {

// A job read off the wire, owning its bytes.
struct ReceivedHashJob {
  authcore::HashJob::Kind kind = authcore::HashJob::Kind::hash;
  std::string password;
  std::string stored_hash;

  authcore::HashJob view() const { return {kind, password, stored_hash}; }
};

// The helper's answer: the reply, or why the job failed (e.g. out of memory).
using HashAnswer = authcore::Result<authcore::HashReply, std::string>;

// Where the helper finds its control socket.
inline constexpr int hash_helper_control_fd = 3;

// The helper's one message of its own on the control socket; false when doorman is gone.
bool send_ready(int control_fd);
// Whether what came is that message (call once the socket is readable).
bool receive_ready(int control_fd);
// Hands `job_fd` over (the sender keeps its own copy); false when the helper is gone.
bool send_job_socket(int control_fd, int job_fd);
// The next job socket handed over; -1 when the control socket closed.
int receive_job_socket(int control_fd);

// The largest frame either end accepts: far above any password the auth API
// admits (its body limit), far below what would hurt to buffer.
inline constexpr std::size_t max_hash_frame_bytes = 16u << 20;

// Each returns false / nullopt when the socket broke, the peer closed it, or
// what came is not a well-formed frame: the caller drops the connection.
bool send_hash_job(int fd, const authcore::HashJob& job);
std::optional<ReceivedHashJob> receive_hash_job(int fd);
bool send_hash_answer(int fd, authcore::HashJob::Kind kind, const HashAnswer& answer);
std::optional<HashAnswer> receive_hash_answer(int fd, authcore::HashJob::Kind kind);

}  // namespace doorman::proxy
