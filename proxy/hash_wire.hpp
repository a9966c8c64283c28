// The hash helper's wire format (hash_helper.hpp): one password job in, one
// answer out, each a frame on a stream socket: a 4-byte length in host order,
// then the payload. Both ends are the same binary on the same machine, so
// host order is safe; a frame that does not parse ends the conversation.
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
