// Tests for proxy/hash_helper.cpp with the real doorman binary as the helper:
// jobs run in another process, in a session (so an autogroup) of its own, at
// the lowest weight; a helper that dies is started again; one that cannot
// start is an error at construction; destruction leaves no process behind.
#include "proxy/hash_helper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using doorman::authcore::HashJob;
using doorman::authcore::PasswordCheck;
using doorman::authcore::PasswordHasher;
using doorman::authcore::PasswordHasherParams;
using doorman::proxy::HashHelper;

namespace {

const PasswordHasherParams small_params{1, 8u << 10};  // fast Argon2 for tests

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// A hasher whose every job runs in `helper`, as the runtime wires it.
PasswordHasher through(HashHelper& helper) {
  return PasswordHasher(small_params, [&helper](const HashJob& job) { return helper.run(job); });
}

}  // namespace

TEST_CASE("jobs run in a helper process of its own session, lowered, with the hasher's results") {
  HashHelper helper(DOORMAN_BINARY, small_params);
  const pid_t pid = helper.pid();
  REQUIRE(pid > 0);
  CHECK(pid != ::getpid());
  CHECK(::getsid(pid) == pid);  // a session leader: its own autogroup where autogroups are on
  if (const std::string autogroup = read_file("/proc/" + std::to_string(pid) + "/autogroup");
      !autogroup.empty())
    CHECK(autogroup.find("nice 19") != std::string::npos);
  CHECK(read_file("/proc/" + std::to_string(pid) + "/comm") == "doorman-hash\n");

  const PasswordHasher hasher = through(helper);
  const std::string hashed = hasher.hash("correct horse");
  CHECK(hashed.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
  CHECK(hasher.verify("correct horse", hashed) == PasswordCheck::ok);
  CHECK(hasher.verify("wrong horse", hashed) == PasswordCheck::wrong);
  CHECK(hasher.verify("correct horse", "$argon2d$nonsense") == PasswordCheck::unknown_format);
  // Made locally with stronger parameters than the helper's: no rehash asked.
  CHECK(hasher.verify("pw", PasswordHasher({2, 16u << 10}).hash("pw")) == PasswordCheck::ok);
  CHECK(helper.pid() == pid);  // the same helper served them all
}

TEST_CASE("the helper's job threads run at SCHED_IDLE") {
  HashHelper helper(DOORMAN_BINARY, PasswordHasherParams{3, 64u << 20});  // slow enough to be seen
  const pid_t pid = helper.pid();
  std::thread job([&] { (void)helper.run(HashJob{HashJob::Kind::hash, "slow", {}}); });
  bool seen_idle = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!seen_idle && std::chrono::steady_clock::now() < deadline) {
    // /proc/<pid>/task/<tid>/stat field 41 is the policy; SCHED_IDLE is 5.
    std::error_code gone;  // a task that ended between listing and reading is skipped
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", gone)) {
      if (seen_idle) break;
      const std::string stat = read_file(task.path().string() + "/stat");
      if (stat.empty()) continue;
      std::istringstream fields(stat.substr(stat.rfind(')') + 2));
      std::string field;
      for (int i = 3; i <= 41 && fields >> field; ++i) {
        if (i == 41) seen_idle = field == "5";
      }
    }
    if (!seen_idle) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  job.join();
  CHECK(seen_idle);
}

TEST_CASE("the helper holds no descriptor of doorman's but its control socket and the standard three") {
  // Like an Asio socket: open in the parent, not close-on-exec.
  const int inherited = ::fcntl(0, F_DUPFD, 10);
  REQUIRE(inherited >= 10);
  HashHelper helper(DOORMAN_BINARY, small_params);
  std::vector<std::string> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(helper.pid()) + "/fd"))
    fds.push_back(entry.path().filename().string());
  std::sort(fds.begin(), fds.end());
  CHECK(fds == std::vector<std::string>{"0", "1", "2", "3"});
  ::close(inherited);
}

TEST_CASE("many callers at once each get their own answer") {
  HashHelper helper(DOORMAN_BINARY, small_params);
  const PasswordHasher hasher = through(helper);
  const std::string hashed = hasher.hash("shared secret");
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < 10; ++i) {
        const bool right_password = (c + i) % 2 == 0;
        const auto check = hasher.verify(right_password ? "shared secret" : "guess", hashed);
        if (check != (right_password ? PasswordCheck::ok : PasswordCheck::wrong)) ++wrong;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  CHECK(wrong == 0);
}

TEST_CASE("a helper that was killed is started again, and the job still gets done") {
  HashHelper helper(DOORMAN_BINARY, small_params);
  const PasswordHasher hasher = through(helper);
  const pid_t first = helper.pid();
  REQUIRE(::kill(first, SIGKILL) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string hashed = hasher.hash("after the crash");
  CHECK(hasher.verify("after the crash", hashed) == PasswordCheck::ok);
  const pid_t second = helper.pid();
  CHECK(second != first);
  CHECK_FALSE(process_exists(first));  // reaped, not left a zombie
}

TEST_CASE("a helper killed in the middle of a job: the job is done by the next one") {
  HashHelper helper(DOORMAN_BINARY, PasswordHasherParams{3, 64u << 20});
  const pid_t first = helper.pid();
  std::string hashed;
  std::thread job([&] { hashed = helper.run(HashJob{HashJob::Kind::hash, "interrupted", {}}).hash; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(::kill(first, SIGKILL) == 0);
  job.join();
  CHECK(hashed.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"));
  CHECK(helper.pid() != first);
}

TEST_CASE("a helper that cannot start is an error at construction") {
  CHECK_THROWS_AS(HashHelper("/nonexistent/doorman", small_params), std::runtime_error);
  // Starts, but never says it is ready.
  CHECK_THROWS_AS(HashHelper("/bin/true", small_params), std::runtime_error);
}

TEST_CASE("parameters the helper refuses: it does not start") {
  CHECK_THROWS_AS(HashHelper(DOORMAN_BINARY, PasswordHasherParams{0, 8u << 10}), std::runtime_error);
}

TEST_CASE("destruction stops the helper and reaps it") {
  pid_t pid = -1;
  {
    HashHelper helper(DOORMAN_BINARY, small_params);
    pid = helper.pid();
    REQUIRE(process_exists(pid));
  }
  CHECK_FALSE(process_exists(pid));
}
