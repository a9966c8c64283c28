// HashGovernor: a thread that sleeps while no job is in flight, and otherwise
// reads the helper's, doorman's and the machine's CPU clocks over short windows.
#include "proxy/hash_governor.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace doorman::proxy {

double cores_used(std::chrono::nanoseconds cpu, std::chrono::nanoseconds wall) {
  if (wall <= std::chrono::nanoseconds::zero()) return 0;
  return static_cast<double>(cpu.count()) / static_cast<double>(wall.count());
}

bool helper_should_pause(const GovernorWindow& window, const GovernorSettings& settings) {
  if (window.jobs == 0 || window.wall <= std::chrono::nanoseconds::zero()) return false;
  const double could_use = static_cast<double>(std::min<std::size_t>(window.jobs, window.cores));
  const bool starved = cores_used(window.helper_cpu, window.wall) < settings.starved_below * could_use;
  return starved && cores_used(window.doorman_cpu, window.wall) > settings.busy_cores;
}

bool helper_may_resume(const GovernorWindow& window, double busy_when_paused,
                       const GovernorSettings& settings) {
  if (cores_used(window.doorman_cpu, window.wall) < settings.still_busy * busy_when_paused) return true;
  return cores_used(window.idle_cpu, window.wall) >= settings.spare_cores;
}

std::optional<std::chrono::nanoseconds> system_idle_time() {
  // The first line: "cpu  user nice system idle iowait ...", in clock ticks.
  std::ifstream stat("/proc/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  std::istringstream fields(line);
  std::string label;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0;
  if (!(fields >> label >> user >> nice >> system >> idle >> iowait) || label != "cpu") return std::nullopt;
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (ticks_per_second <= 0) return std::nullopt;
  return std::chrono::nanoseconds((idle + iowait) * (1'000'000'000LL / ticks_per_second));
}

HashGovernor::HashGovernor(GovernorControls controls, GovernorSettings settings)
    : controls_(std::move(controls)),
      settings_(settings),
      cores_(std::max(1u, std::thread::hardware_concurrency())),
      thread_([this] { watch(); }) {}

HashGovernor::~HashGovernor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void HashGovernor::job_started() {
  {
    std::lock_guard lock(mutex_);
    ++jobs_;
  }
  changed_.notify_all();
}

void HashGovernor::job_finished() {
  std::lock_guard lock(mutex_);
  --jobs_;
}

std::size_t HashGovernor::jobs() {
  std::lock_guard lock(mutex_);
  return jobs_;
}

bool HashGovernor::sleep_for(std::chrono::nanoseconds duration) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, duration, [this] { return stopping_; });
}

void HashGovernor::watch() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || jobs_ > 0; });
      if (stopping_) return;
    }
    const auto helper_before = controls_.helper_cpu();
    const auto doorman_before = controls_.doorman_cpu();
    const auto started = std::chrono::steady_clock::now();
    if (!sleep_for(settings_.window)) return;
    const auto helper_after = controls_.helper_cpu();
    // A helper that was started again meanwhile has a clock of its own: no reading.
    if (!helper_before || !helper_after || helper_after->process != helper_before->process) continue;
    GovernorWindow window;
    window.wall = std::chrono::steady_clock::now() - started;
    window.helper_cpu = helper_after->cpu - helper_before->cpu;
    window.doorman_cpu = controls_.doorman_cpu() - doorman_before;
    window.jobs = jobs();
    window.cores = cores_;
    if (helper_should_pause(window, settings_) &&
        !pause_while_busy(cores_used(window.doorman_cpu, window.wall)))
      return;
  }
}

bool HashGovernor::pause_while_busy(double busy) {
  controls_.pause();
  const auto paused_at = std::chrono::steady_clock::now();
  bool going_on = true;
  while (jobs() > 0 && std::chrono::steady_clock::now() - paused_at < settings_.longest_pause) {
    const auto doorman_before = controls_.doorman_cpu();
    const auto idle_before = controls_.idle_cpu();
    const auto started = std::chrono::steady_clock::now();
    if (!(going_on = sleep_for(settings_.paused_window))) break;
    const auto idle_after = controls_.idle_cpu();
    GovernorWindow window;
    window.wall = std::chrono::steady_clock::now() - started;
    window.doorman_cpu = controls_.doorman_cpu() - doorman_before;
    // Unknown idle time counts as none: the other test still decides.
    if (idle_before && idle_after) window.idle_cpu = *idle_after - *idle_before;
    if (helper_may_resume(window, busy, settings_)) break;
  }
  controls_.resume();
  return going_on;
}

}  // namespace doorman::proxy
