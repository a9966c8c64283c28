// The blocking pools' threads (see blocking_pool.hpp).
#include "proxy/blocking_pool.hpp"

#include <algorithm>

#include "proxy/heap_reserve.hpp"

namespace doorman::proxy {

BlockingPool::BlockingPool(std::size_t threads) : context_(), work_(asio::make_work_guard(context_)) {
  threads = std::max<std::size_t>(1, threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      reserve_thread_heap();
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
