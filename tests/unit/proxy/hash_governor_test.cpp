// Tests for proxy/hash_governor.cpp: the pause and resume decisions, the
// machine's idle clock, and the governor's loop driven by fake clocks.
#include "proxy/hash_governor.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <doctest/doctest.h>

#include "eventually.hpp"

using namespace doorman::proxy;
using namespace std::chrono_literals;

namespace {

GovernorWindow running_window(std::chrono::nanoseconds helper, std::chrono::nanoseconds doorman,
                              std::size_t jobs, unsigned cores = 2) {
  GovernorWindow w;
  w.wall = 10ms;
  w.helper_cpu = helper;
  w.doorman_cpu = doorman;
  w.jobs = jobs;
  w.cores = cores;
  return w;
}

GovernorWindow paused_window(std::chrono::nanoseconds doorman, std::chrono::nanoseconds idle) {
  GovernorWindow w;
  w.wall = 100ms;
  w.doorman_cpu = doorman;
  w.idle_cpu = idle;
  return w;
}

// Fake clocks: the helper gets CPU or not, doorman is busy or not, the machine idles or not.
struct FakeMachine {
  std::atomic<bool> helper_fed{false};
  std::atomic<bool> doorman_busy{true};
  std::atomic<bool> machine_idle{false};
  std::atomic<int> pauses{0};
  std::atomic<int> resumes{0};
  std::atomic<bool> stopped{false};
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::atomic<long long> helper_ns{0}, doorman_ns{0}, idle_ns{0};
  std::chrono::steady_clock::time_point last = start;
  std::mutex mutex;

  // Each clock advances by the time since the last reading, at full speed or not at all.
  void tick() {
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    const long long elapsed = std::chrono::nanoseconds(now - last).count();
    last = now;
    if (helper_fed && !stopped) helper_ns += elapsed;
    if (doorman_busy) doorman_ns += elapsed;
    if (machine_idle) idle_ns += elapsed;
  }

  GovernorControls controls() {
    return GovernorControls{
        [this] {
          tick();
          return std::optional<HelperCpu>(HelperCpu{42, std::chrono::nanoseconds(helper_ns.load())});
        },
        [this] {
          tick();
          return std::chrono::nanoseconds(doorman_ns.load());
        },
        [this] {
          tick();
          return std::optional<std::chrono::nanoseconds>(idle_ns.load());
        },
        [this] {
          ++pauses;
          stopped = true;
        },
        [this] {
          ++resumes;
          stopped = false;
        }};
  }
};

GovernorSettings fast_settings() {
  GovernorSettings s;
  s.window = 2ms;
  s.paused_window = 5ms;
  s.longest_pause = 300ms;
  return s;
}

// A job starts beside a starved helper and a busy doorman: the governor stops the helper.
void start_job_until_paused(HashGovernor& governor, const FakeMachine& machine) {
  governor.job_started();
  REQUIRE(eventually([&] { return machine.pauses >= 1; }));
}

}  // namespace

TEST_CASE("a helper is stopped only when it is starved and doorman is busy") {
  const GovernorSettings s;
  CHECK(helper_should_pause(running_window(1ms, 10ms, 1), s));        // 0.1 core of 1 wanted; doorman 1 core
  CHECK_FALSE(helper_should_pause(running_window(1ms, 2ms, 1), s));   // doorman at 0.2 core: not busy
  CHECK_FALSE(helper_should_pause(running_window(5ms, 10ms, 1), s));  // got half a core: fed enough
  CHECK_FALSE(helper_should_pause(running_window(0ms, 10ms, 0), s));  // no job in flight
  // Jobs beyond the cores cannot use more than the cores: 2 cores wanted, 0.6 got, is 30%.
  CHECK_FALSE(helper_should_pause(running_window(6ms, 10ms, 8, 2), s));
  CHECK(helper_should_pause(running_window(4ms, 10ms, 8, 2), s));  // 0.4 of 2 cores: 20%
  GovernorWindow empty = running_window(0ms, 10ms, 1);
  empty.wall = 0ms;
  CHECK_FALSE(helper_should_pause(empty, s));
}

TEST_CASE("a stopped helper goes on when doorman's load falls or the machine has CPU to spare") {
  const GovernorSettings s;
  CHECK(helper_may_resume(paused_window(50ms, 0ms), 1.0, s));         // 0.5 core, was 1.0: fell
  CHECK_FALSE(helper_may_resume(paused_window(90ms, 0ms), 1.0, s));   // 0.9 core, no idle: still busy
  CHECK(helper_may_resume(paused_window(90ms, 60ms), 1.0, s));        // 0.6 core idle
  CHECK_FALSE(helper_may_resume(paused_window(90ms, 40ms), 1.0, s));  // 0.4 core idle: not enough
  CHECK(cores_used(150ms, 100ms) == doctest::Approx(1.5));
  CHECK(cores_used(1ms, 0ms) == 0);
}

TEST_CASE("the machine's idle clock reads and never goes back") {
  const auto first = system_idle_time();
  REQUIRE(first);
  std::this_thread::sleep_for(30ms);
  const auto second = system_idle_time();
  REQUIRE(second);
  CHECK(*second >= *first);
}

TEST_CASE("with no job in flight the governor never stops the helper") {
  FakeMachine machine;
  {
    HashGovernor governor(machine.controls(), fast_settings());
    std::this_thread::sleep_for(50ms);
  }
  CHECK(machine.pauses == 0);
}

TEST_CASE("a helper that gets its CPU is left alone, busy doorman or not") {
  FakeMachine machine;
  machine.helper_fed = true;
  HashGovernor governor(machine.controls(), fast_settings());
  governor.job_started();
  std::this_thread::sleep_for(60ms);
  CHECK(machine.pauses == 0);
  governor.job_finished();
}

TEST_CASE("a starved helper beside a busy doorman is stopped, and goes on when doorman's load falls") {
  FakeMachine machine;
  HashGovernor governor(machine.controls(), fast_settings());
  start_job_until_paused(governor, machine);
  CHECK(machine.stopped);
  std::this_thread::sleep_for(40ms);  // still busy, no idle CPU: stays stopped
  CHECK(machine.stopped);
  CHECK(machine.resumes == 0);
  machine.doorman_busy = false;
  CHECK(eventually([&] { return machine.resumes >= 1; }, 200ms));
  governor.job_finished();
}

TEST_CASE("a stopped helper goes on when the machine has idle CPU, even with doorman still busy") {
  FakeMachine machine;
  HashGovernor governor(machine.controls(), fast_settings());
  start_job_until_paused(governor, machine);
  machine.machine_idle = true;
  CHECK(eventually([&] { return machine.resumes >= 1; }, 200ms));
  governor.job_finished();
}

TEST_CASE("no pause lasts longer than longest_pause; then the helper is looked at again") {
  FakeMachine machine;
  HashGovernor governor(machine.controls(), fast_settings());
  start_job_until_paused(governor, machine);
  const auto paused = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return machine.resumes >= 1; }));
  CHECK(std::chrono::steady_clock::now() - paused >= 250ms);
  // Still starved beside a busy doorman: stopped again.
  CHECK(eventually([&] { return machine.pauses >= 2; }));
  governor.job_finished();
}

TEST_CASE("destroying the governor continues a helper it stopped") {
  FakeMachine machine;
  {
    HashGovernor governor(machine.controls(), fast_settings());
    start_job_until_paused(governor, machine);
    CHECK(machine.stopped);
  }
  CHECK_FALSE(machine.stopped);
  CHECK(machine.resumes == machine.pauses);
}
