// The hash helper process: its scheduling group, its control loop, one thread per job.
#include "proxy/hash_helper_process.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <exception>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>

#include <sodium.h>

#include "proxy/hash_wire.hpp"
#include "proxy/idle_priority.hpp"

namespace doorman::proxy {
namespace {

// Its session's autogroup (the scheduling group Linux gives a session when
// autogroups are on) at the lowest weight; where there are none, nothing to do.
// Only a session of its own: the autogroup of a session it shared would be
// that of whoever started doorman.
void lower_own_autogroup() {
  if (::getsid(0) != ::getpid()) return;
  std::ofstream autogroup("/proc/self/autogroup");
  if (autogroup) autogroup << "19" << std::flush;
}

HashAnswer compute(const authcore::PasswordHasher& hasher, const ReceivedHashJob& job) {
  try {
    return hasher.compute(job.view());
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

void serve_job(const authcore::PasswordHasher& hasher, int job_fd) {
  lower_this_thread_to_idle();
  if (auto job = receive_hash_job(job_fd)) {
    (void)send_hash_answer(job_fd, job->kind, compute(hasher, *job));
    sodium_memzero(job->password.data(), job->password.size());
  }
  ::close(job_fd);
}

}  // namespace

int run_hash_helper(const authcore::PasswordHasherParams& params, pid_t parent, int control_fd) {
  // Dies with doorman, even by SIGKILL, and not at all if doorman is already gone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return 1;
  ::prctl(PR_SET_NAME, "doorman-hash");  // not "exe", from /proc/self/exe
  lower_own_autogroup();
  // Outlives every job thread: the process ends with _exit, never by returning.
  const auto* hasher = new authcore::PasswordHasher(params);
  if (!send_ready(control_fd)) return 1;
  for (int job_fd; (job_fd = receive_job_socket(control_fd)) >= 0;) {
    try {
      std::thread(serve_job, std::cref(*hasher), job_fd).detach();
    } catch (const std::system_error& e) {
      // No thread for it: say so on this one, or doorman would take the helper for dead.
      if (auto job = receive_hash_job(job_fd))
        (void)send_hash_answer(job_fd, job->kind,
                               HashAnswer(std::string("no thread for the job: ") + e.what()));
      ::close(job_fd);
    }
  }
  ::_exit(0);
}

}  // namespace doorman::proxy
