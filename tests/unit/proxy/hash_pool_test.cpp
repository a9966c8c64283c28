// HashPool: a job runs on a pool thread at SCHED_IDLE and run() returns only
// once it finished, with its exception; many callers at once all get their own
// job's result; destruction runs what is queued.
#include "proxy/hash_pool.hpp"

#include <doctest/doctest.h>
#include <sched.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using doorman::proxy::HashPool;

TEST_CASE("a job runs on a pool thread, at SCHED_IDLE, and run() returns after it") {
  HashPool pool(2);
  std::thread::id ran_on;
  int policy = -1;
  bool finished = false;
  pool.run([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ran_on = std::this_thread::get_id();
    policy = sched_getscheduler(0);
    finished = true;
  });
  CHECK(finished);
  CHECK(ran_on != std::this_thread::get_id());
  CHECK(pool.idle_policy());  // any thread may lower its own policy
  CHECK(policy == SCHED_IDLE);
}

TEST_CASE("a job's exception reaches the caller, and the pool keeps serving") {
  HashPool pool(1);
  CHECK_THROWS_AS(pool.run([] { throw std::runtime_error("out of memory"); }), std::runtime_error);
  int value = 0;
  pool.run([&] { value = 7; });
  CHECK(value == 7);
}

TEST_CASE("many callers at once each get their own job done") {
  HashPool pool(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < 50; ++i) {
        int out = -1;
        pool.run([&] { out = c * 1000 + i; });
        if (out != c * 1000 + i) ++wrong;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  CHECK(wrong == 0);
}
