// Tests for proxy/event_loop.cpp: the loop runs every handler and ends when the
// work does, with or without busy polling; a gap shorter than the polling window
// is polled through, a longer one is slept through; an idle loop sleeps; a
// polling loop leaves its CPU to a thread that needs it.
// The windows and gaps differ by two orders of magnitude, so no assertion hangs on
// how fast this machine is.
#include "proxy/event_loop.hpp"

#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <vector>

#include <chrono>
#include <thread>

using namespace doorman::proxy;
using namespace std::chrono_literals;

namespace {

// Posts `count` handlers into `context` from another thread, `gap` apart, then
// lets the loop run out of work. Returns the loop's statistics and how many ran.
std::pair<EventLoopStats, int> run_with_gaps(std::chrono::microseconds busy_poll, int count,
                                             std::chrono::milliseconds gap) {
  boost::asio::io_context context(1);
  auto work = boost::asio::make_work_guard(context);
  int ran = 0;
  std::thread feeder([&] {
    for (int i = 0; i < count; ++i) {
      std::this_thread::sleep_for(gap);
      boost::asio::post(context, [&] { ++ran; });
    }
    boost::asio::post(context, [&] { work.reset(); });
  });
  const EventLoopStats stats = run_event_loop(context, busy_poll);
  feeder.join();
  return {stats, ran};
}

}  // namespace

TEST_CASE("without busy polling the loop is io_context::run") {
  const auto [stats, ran] = run_with_gaps(0us, 5, 1ms);
  CHECK(ran == 5);
  CHECK(stats.sleeps == 0);  // not counted: run() sleeps as it likes
}

TEST_CASE("with busy polling, gaps shorter than the window are polled through") {
  const auto [stats, ran] = run_with_gaps(std::chrono::microseconds(2s), 5, 5ms);
  CHECK(ran == 5);
  // The first handler may find the loop asleep already; none after it does.
  CHECK(stats.sleeps <= 1);
}

TEST_CASE("with busy polling, gaps longer than the window are slept through") {
  const auto [stats, ran] = run_with_gaps(10us, 5, 50ms);
  CHECK(ran == 5);
  CHECK(stats.sleeps >= 5);
}

TEST_CASE("a busy-polling loop ends when the work does, timers included") {
  boost::asio::io_context context(1);
  bool fired = false;
  boost::asio::steady_timer timer(context, 20ms);
  timer.async_wait([&](auto) { fired = true; });
  run_event_loop(context, 50us);
  CHECK(fired);
  CHECK(context.stopped());
}

namespace {

// A thread's CPU time so far.
std::chrono::nanoseconds cpu_time_of(pthread_t thread) {
  clockid_t clock{};
  timespec t{};
  if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &t) != 0) return {};
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

// A busy thread shares one CPU with a busy-polling loop that has nothing to do:
// the busy thread's part of the CPU time the two used, over `span`. Measured
// between the two alone, so other processes on that CPU do not change it.
double busy_thread_part_beside_polling_loop(std::chrono::milliseconds span) {
  cpu_set_t allowed, one_cpu;
  REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  CPU_ZERO(&one_cpu);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) {
      CPU_SET(cpu, &one_cpu);
      break;
    }
  }
  boost::asio::io_context context(1);
  auto work = boost::asio::make_work_guard(context);
  std::thread loop([&] {
    CHECK(pthread_setaffinity_np(pthread_self(), sizeof one_cpu, &one_cpu) == 0);
    run_event_loop(context, std::chrono::microseconds(10s));  // polls through the whole test
  });
  std::chrono::nanoseconds busy_time{}, loop_time{};
  std::thread busy([&] {
    CHECK(pthread_setaffinity_np(pthread_self(), sizeof one_cpu, &one_cpu) == 0);
    const auto busy_start = cpu_time_of(pthread_self());
    const auto loop_start = cpu_time_of(loop.native_handle());
    const auto wall_start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - wall_start < span) {
    }
    busy_time = cpu_time_of(pthread_self()) - busy_start;
    loop_time = cpu_time_of(loop.native_handle()) - loop_start;
  });
  busy.join();
  boost::asio::post(context, [&] { work.reset(); });
  loop.join();
  return std::chrono::duration<double>(busy_time) / std::chrono::duration<double>(busy_time + loop_time);
}

}  // namespace

TEST_CASE("a polling loop gives its CPU away to any thread that wants it") {
  // Polling must not take CPU time from the upstream or the client on the same core.
  // A loop that kept its time slices would leave the other thread half the CPU.
  const double part = busy_thread_part_beside_polling_loop(300ms);
  MESSAGE("the busy thread's part of the CPU time: " << part);
  CHECK(part > 0.8);
}
