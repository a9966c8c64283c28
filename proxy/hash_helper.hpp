// HashHelper: password hashing (Argon2, bcrypt) in a process of its own, so a
// login storm does not raise the latency of proxied requests (DESIGN.md §3).
//
// Why a process and not low-priority threads: Linux shares CPU between
// scheduling groups first (an autogroup per session where autogroups are on,
// a cgroup per container) and only then between the threads inside a group;
// SCHED_IDLE ranks a thread only inside its own group. Hash threads inside
// doorman's group ran on the group's share whenever its workers paused, and a
// client or upstream that woke on that CPU waited behind them: proxied p99 went
// up 1x to 20x in the bench's login storm, while the same storm with
// autogroups off stayed within 1.7x. The helper starts its own session, so
// where autogroups are on it is a group of its own at the lowest weight
// (autogroup nice 19), and its threads are SCHED_IDLE inside it. In a
// container's cgroup it is no worse than threads were.
//
// The helper is this same binary (`doorman hash-helper`, hash_helper_process.hpp).
// Each job gets a socket pair: one end goes to the helper over the control
// socket, the job and its answer travel on it (hash_wire.hpp). A helper found
// dead is started again. While jobs are in flight, a HashGovernor stops the
// helper whenever proxied traffic needs every CPU (hash_governor.hpp).
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "authcore/password.hpp"
#include "proxy/hash_governor.hpp"

namespace doorman::proxy {

class HashHelper {
 public:
  // Starts `executable hash-helper ...` with these Argon2 parameters. Throws
  // std::runtime_error when it cannot start (the caller may hash in-process).
  HashHelper(std::string executable, authcore::PasswordHasherParams params, GovernorSettings governor = {});
  // Stops the helper (jobs still running in it fail) and reaps it.
  ~HashHelper();
  HashHelper(const HashHelper&) = delete;
  HashHelper& operator=(const HashHelper&) = delete;

  // Does `job` in the helper and returns its reply. Blocks: call it from the
  // blocking pools, never from a worker. A helper that died is started again
  // and the job retried once; throws std::runtime_error when the job fails
  // there (e.g. out of memory) or no helper can be reached.
  authcore::HashReply run(const authcore::HashJob& job);

  // The helper's process id now (changes when it is started again).
  pid_t pid() const;
  // Its CPU time so far; nullopt when there is no helper.
  std::optional<HelperCpu> cpu() const;

 private:
  struct Process {
    pid_t pid = -1;
    int control_fd = -1;  // SOCK_SEQPACKET: one job socket per message
    unsigned generation = 0;
  };

  Process spawn() const;
  void stop(Process& process) const;
  // Hands a job socket to the helper of `generation`'s process; false when it is gone.
  bool hand_over(int job_fd, unsigned& generation);
  void restart_if_still(unsigned generation);

  // Sends `signal` to the helper there is now, if any.
  void signal_helper(int signal) const;

  const std::string executable_;
  const authcore::PasswordHasherParams params_;
  mutable std::mutex mutex_;  // guards process_ and the control socket's writes
  Process process_;
  std::unique_ptr<HashGovernor> governor_;  // last: its thread reads process_
};

}  // namespace doorman::proxy
