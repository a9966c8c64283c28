// Tests for proxy/event_loop.cpp: the loop runs every handler and ends when the
// work does, with or without busy polling; a gap shorter than the polling window
// is polled through, a longer one is slept through; an idle loop sleeps.
// The windows and gaps differ by two orders of magnitude, so no assertion hangs on
// how fast this machine is.
#include "proxy/event_loop.hpp"

#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

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
