// HashHelper: starts the helper process, hands it one socket per job over the
// control socket (hash_wire.hpp), and starts it again when it is found dead.
#include "proxy/hash_helper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "proxy/hash_wire.hpp"
#include "proxy/metrics.hpp"

extern char** environ;

namespace doorman::proxy {
namespace {

// How long a starting helper may take to say it is ready.
constexpr int helper_ready_timeout_ms = 5000;

class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  ~OwnedFd() { reset(); }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

std::runtime_error system_failure(const std::string& what, int error) {
  return std::runtime_error("hash helper: " + what + ": " + std::strerror(error));
}

struct SocketPair {
  OwnedFd ours;
  OwnedFd theirs;
};

SocketPair socket_pair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0) throw system_failure("socketpair", errno);
  return SocketPair{OwnedFd(fds[0]), OwnedFd(fds[1])};
}

// Waits for the helper's one-byte "ready"; false when it exited or stayed silent.
bool helper_ready(int control_fd) {
  pollfd ready{control_fd, POLLIN, 0};
  int polled = 0;
  do {
    polled = ::poll(&ready, 1, helper_ready_timeout_ms);
  } while (polled < 0 && errno == EINTR);
  return polled == 1 && receive_ready(control_fd);
}

// A CPU-time clock's reading; nullopt when it cannot be read (a process gone).
std::optional<std::chrono::nanoseconds> cpu_time(clockid_t clock) {
  timespec used{};
  if (::clock_gettime(clock, &used) != 0) return std::nullopt;
  return std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
}

}  // namespace

HashHelper::HashHelper(std::string executable, authcore::PasswordHasherParams params,
                       GovernorSettings governor)
    : executable_(std::move(executable)), params_(params) {
  process_ = spawn();
  governor_ = std::make_unique<HashGovernor>(
      GovernorControls{
          [this] { return cpu(); },
          [] { return cpu_time(CLOCK_PROCESS_CPUTIME_ID).value_or(std::chrono::nanoseconds(0)); },
          system_idle_time,
          [this] {
            metrics().count_hash_helper_pause();
            signal_helper(SIGSTOP);
          },
          [this] { signal_helper(SIGCONT); }},
      governor);
}

HashHelper::~HashHelper() {
  governor_.reset();  // continues a helper it stopped
  std::lock_guard lock(mutex_);
  stop(process_);
}

pid_t HashHelper::pid() const {
  std::lock_guard lock(mutex_);
  return process_.pid;
}

std::optional<HelperCpu> HashHelper::cpu() const {
  std::lock_guard lock(mutex_);
  clockid_t clock;
  if (process_.pid <= 0 || ::clock_getcpuclockid(process_.pid, &clock) != 0) return std::nullopt;
  const auto used = cpu_time(clock);
  if (!used) return std::nullopt;
  return HelperCpu{process_.pid, *used};
}

void HashHelper::signal_helper(int signal) const {
  std::lock_guard lock(mutex_);
  if (process_.pid > 0) ::kill(process_.pid, signal);
}

HashHelper::Process HashHelper::spawn() const {
  auto [ours, theirs] = socket_pair(SOCK_SEQPACKET);
  // dup2 onto its own number would leave FD_CLOEXEC set: move their end off fd 3 first.
  if (theirs.get() == hash_helper_control_fd) {
    const int moved = ::fcntl(theirs.get(), F_DUPFD_CLOEXEC, hash_helper_control_fd + 1);
    if (moved < 0) throw system_failure("fcntl", errno);
    theirs.reset(moved);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), hash_helper_control_fd);
  // Nothing else: Asio's sockets are not close-on-exec, and a helper started
  // again later would hold doorman's listeners and connections open.
  posix_spawn_file_actions_addclosefrom_np(&actions, hash_helper_control_fd + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own session (so its own autogroup), no blocked signals, and default
  // actions for the ones doorman catches or ignores.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, signal);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args{"doorman",  // what ps shows, whatever path it was started by
                                "hash-helper",
                                "--ops-limit",
                                std::to_string(params_.ops_limit),
                                "--mem-limit",
                                std::to_string(params_.mem_limit_bytes),
                                "--parent",
                                std::to_string(::getpid())};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  Process process;
  const int spawned =
      ::posix_spawn(&process.pid, executable_.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) throw system_failure("cannot start " + executable_, spawned);
  theirs.reset();  // the helper holds the only other end: its death shows as EOF here
  process.control_fd = ours.release();
  if (!helper_ready(process.control_fd)) {
    stop(process);
    throw std::runtime_error("hash helper: " + executable_ + " did not start");
  }
  return process;
}

void HashHelper::stop(Process& process) const {
  if (process.control_fd >= 0) ::close(std::exchange(process.control_fd, -1));
  if (process.pid > 0) {
    ::kill(process.pid, SIGKILL);  // jobs in flight fail; their callers get an error
    while (::waitpid(process.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    process.pid = -1;
  }
}

bool HashHelper::hand_over(int job_fd, unsigned& generation) {
  std::lock_guard lock(mutex_);
  generation = process_.generation;
  return process_.control_fd >= 0 && send_job_socket(process_.control_fd, job_fd);
}

void HashHelper::restart_if_still(unsigned generation) {
  std::lock_guard lock(mutex_);
  if (process_.generation != generation) return;  // another caller already started a new one
  const pid_t gone = process_.pid;
  stop(process_);
  process_.generation = generation + 1;
  metrics().count_hash_helper_restart();
  Process fresh = spawn();  // throws: the next caller tries again
  fresh.generation = generation + 1;
  process_ = fresh;
  if (gone > 0)
    std::cerr << "doorman: the hash helper (pid " << gone << ") was gone; started pid " << fresh.pid << "\n";
  else
    std::cerr << "doorman: started the hash helper (pid " << fresh.pid << ")\n";
}

authcore::HashReply HashHelper::run(const authcore::HashJob& job) {
  governor_->job_started();
  struct Finished {
    HashGovernor& governor;
    ~Finished() { governor.job_finished(); }
  } finished{*governor_};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto [ours, theirs] = socket_pair(SOCK_STREAM);
    unsigned generation = 0;
    const bool handed = hand_over(theirs.get(), generation);
    theirs.reset();  // only the helper's copy stays: if it dies, ours reads EOF
    if (handed && send_hash_job(ours.get(), job)) {
      if (auto answer = receive_hash_answer(ours.get(), job.kind)) {
        if (!*answer) throw std::runtime_error("password hashing failed: " + answer->error());
        return std::move(answer->value());
      }
    }
    restart_if_still(generation);
  }
  throw std::runtime_error("password hashing failed: the hash helper died twice during one job");
}

}  // namespace doorman::proxy
