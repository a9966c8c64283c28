// A worker's event loop (see event_loop.hpp).
#include "proxy/event_loop.hpp"

#include <sched.h>

namespace doorman::proxy {

EventLoopStats run_event_loop(boost::asio::io_context& context, std::chrono::microseconds busy_poll) {
  EventLoopStats stats;
  if (busy_poll.count() <= 0) {
    context.run();
    return stats;
  }
  using Clock = std::chrono::steady_clock;
  auto last_work = Clock::now();
  for (;;) {
    // poll() runs what is ready, asking epoll without a timeout.
    if (context.poll() != 0) {
      last_work = Clock::now();
      continue;
    }
    if (context.stopped()) break;  // out of work, as run() would end
    if (Clock::now() - last_work < busy_poll) {
      sched_yield();  // whoever else is runnable here goes first (event_loop.hpp)
      continue;
    }
    ++stats.sleeps;
    if (context.run_one() == 0) break;
    last_work = Clock::now();
  }
  return stats;
}

}  // namespace doorman::proxy
