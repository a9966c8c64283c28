// HashGovernor: stops the hash helper (hash_helper.hpp) while proxied traffic
// needs every CPU, and lets it go on once there is CPU to spare.
//
// At full load the helper's SCHED_IDLE threads get almost no CPU (no login of
// the bench's storm finished while wrk ran), yet merely being runnable raised
// proxied p99 1.4x to 2.1x there, as much as CPU burners placed like the helper
// did; with the helper stopped for the same storm, p99 moved 0.65x to 1.0x.
//
// While a job is in flight the governor looks at short windows. A window in
// which the helper got under a quarter of the CPU its jobs could use while
// doorman itself was busy stops the helper (SIGSTOP). A stopped helper is
// continued (SIGCONT) once doorman's own CPU use falls below 80% of what it
// was then, or the machine had half a core idle, or after `longest_pause`
// (then it is watched again). Continuing only then matters: a stopped thread
// comes back owed CPU time and takes it at once, which at full load is the
// very harm being avoided. Logins wait, as they would at full load anyway; a
// helper that gets its CPU, or a doorman that is not busy, is left alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace doorman::proxy {

struct GovernorSettings {
  std::chrono::milliseconds window{10};             // one look while the helper runs
  std::chrono::milliseconds paused_window{100};     // one look while it is stopped
  std::chrono::milliseconds longest_pause{10'000};  // then it runs and is looked at again
  double starved_below = 0.25;                      // of the CPU time its jobs could have used
  double busy_cores = 0.5;                          // doorman's own CPU use, in cores, that counts as busy
  double still_busy = 0.8;                          // of doorman's CPU use when it stopped the helper
  double spare_cores = 0.5;                         // idle CPU, in cores, that lets the helper go on
};

// The helper's CPU clock, and which process it belongs to (a helper started
// again has a clock of its own).
struct HelperCpu {
  long process = 0;
  std::chrono::nanoseconds cpu{0};
};

// One window's readings.
struct GovernorWindow {
  std::chrono::nanoseconds wall{0};
  std::chrono::nanoseconds helper_cpu{0};   // CPU time the helper got (running windows)
  std::chrono::nanoseconds doorman_cpu{0};  // CPU time doorman's own threads used
  std::chrono::nanoseconds idle_cpu{0};     // CPU time the machine spent idle, all cores
  std::size_t jobs = 0;                     // jobs in flight
  unsigned cores = 1;
};

// The decisions, alone. Doorman's CPU use in cores over a window.
double cores_used(std::chrono::nanoseconds cpu, std::chrono::nanoseconds wall);
// After a window with the helper running: stop it?
bool helper_should_pause(const GovernorWindow& window, const GovernorSettings& settings);
// After a window with the helper stopped, `busy_when_paused` being doorman's
// use (in cores) when it was stopped: let it go on?
bool helper_may_resume(const GovernorWindow& window, double busy_when_paused,
                       const GovernorSettings& settings);

// What the governor reads and does; HashHelper binds them to its process.
struct GovernorControls {
  std::function<std::optional<HelperCpu>()> helper_cpu;  // nullopt: no helper now
  std::function<std::chrono::nanoseconds()> doorman_cpu;
  std::function<std::optional<std::chrono::nanoseconds>()> idle_cpu;  // nullopt: unknown
  std::function<void()> pause;                                        // SIGSTOP
  std::function<void()> resume;                                       // SIGCONT
};

// The machine's idle time so far, all cores (/proc/stat); nullopt where unreadable.
std::optional<std::chrono::nanoseconds> system_idle_time();

class HashGovernor {
 public:
  HashGovernor(GovernorControls controls, GovernorSettings settings = {});
  // Continues a helper it stopped, then ends its thread.
  ~HashGovernor();
  HashGovernor(const HashGovernor&) = delete;
  HashGovernor& operator=(const HashGovernor&) = delete;

  // Around each job: the governor looks only while jobs are in flight.
  void job_started();
  void job_finished();

 private:
  void watch();
  // Stops the helper and waits until it may go on; false when the governor is stopping.
  bool pause_while_busy(double busy);
  // Sleeps up to `duration`; false when the governor is stopping.
  bool sleep_for(std::chrono::nanoseconds duration);
  std::size_t jobs();

  const GovernorControls controls_;
  const GovernorSettings settings_;
  const unsigned cores_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t jobs_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace doorman::proxy
