// The blocking pools' threads (see blocking_pool.hpp).
#include "proxy/blocking_pool.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace doorman::proxy {

BlockingPool::BlockingPool(std::size_t threads, int nice)
    : context_(), work_(asio::make_work_guard(context_)) {
  threads = std::max<std::size_t>(1, threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, nice] {
      // Linux applies setpriority(PRIO_PROCESS, tid) to one thread. Failure only
      // means the pool keeps the process's priority.
      if (nice != 0)
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), getpriority(PRIO_PROCESS, 0) + nice);
      context_.run();
    });
  }
}

BlockingPool::~BlockingPool() { join(); }

void BlockingPool::join() {
  work_.reset();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace doorman::proxy
