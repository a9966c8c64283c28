// HashPool: a queue of jobs, each handed back through a packaged_task so the
// caller gets the job's exception; threads lower their own scheduling policy.
#include "proxy/hash_pool.hpp"

#include <algorithm>
#include <future>
#include <utility>

#include "proxy/idle_priority.hpp"

namespace doorman::proxy {

HashPool::HashPool(std::size_t threads) {
  threads = std::max<std::size_t>(1, threads);
  std::promise<bool> first_policy;
  auto first = first_policy.get_future();
  for (std::size_t i = 0; i < threads; ++i) {
    std::promise<bool>* report = i == 0 ? &first_policy : nullptr;
    threads_.emplace_back([this, report] {
      const bool idle = lower_this_thread_to_idle();
      if (report != nullptr) report->set_value(idle);
      serve();
    });
  }
  idle_policy_ = first.get();
}

HashPool::~HashPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void HashPool::run(const std::function<void()>& job) {
  std::packaged_task<void()> task([&job] { job(); });
  auto done = task.get_future();
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back([&task] { task(); });
  }
  wake_.notify_one();
  done.get();  // rethrows the job's exception
}

void HashPool::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace doorman::proxy
