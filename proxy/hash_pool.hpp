// HashPool: in-process threads for Argon2 and bcrypt, used only when the hash
// helper process (hash_helper.hpp) cannot start. They are SCHED_IDLE: inside
// doorman's scheduling group they run on CPU time nothing else there wants,
// and a worker that wakes takes their CPU at once (at nice +10 a hash still
// held a core for several ms while a worker waited). Other processes (clients,
// the upstream) are not protected the same way: see hash_helper.hpp. They
// touch nothing the request path locks (no database, no cache, no worker's
// event loop): a starved hash thread can delay only the login that waits for
// it. Under full saturation logins wait for idle CPU.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace doorman::proxy {

class HashPool {
 public:
  explicit HashPool(std::size_t threads);
  // Runs what is queued, then joins.
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  // Runs `job` on a pool thread and returns when it has finished, rethrowing
  // what it threw (an authcore::HashRunner). Blocks the caller: call it from
  // the blocking pools, never from a worker.
  void run(const std::function<void()>& job);

  // Whether the threads got SCHED_IDLE (else they run at nice 19).
  bool idle_policy() const { return idle_policy_; }

 private:
  void serve();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool idle_policy_ = true;
  std::vector<std::thread> threads_;
};

}  // namespace doorman::proxy
