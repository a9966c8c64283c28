// Bounded thread pools for blocking work (SOCI, blocking Redis calls, waiting
// for a password hash): workers never block; a coroutine hands a call to a
// pool and resumes on its own worker when done. The hashing itself runs in
// the hash helper process (hash_helper.hpp).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace doorman::proxy {

namespace asio = boost::asio;

class BlockingPool {
 public:
  // Each thread grows its malloc arena at start (heap_reserve.hpp): a lookup
  // on the proxied path must not wait on the memory-map lock either.
  explicit BlockingPool(std::size_t threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  asio::io_context::executor_type executor() { return context_.get_executor(); }
  std::size_t size() const { return threads_.size(); }
  // Waits for queued work to finish; the pool takes no more afterwards.
  void join();

 private:
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

// The two pools of a process: password and account work of the auth API, and the
// short lookups of the proxied path (user loads, database tokens), kept apart so
// that proxied requests never queue behind Argon2 hashes.
struct BlockingPools {
  BlockingPool& auth_api;
  BlockingPool& lookups;
};

// Runs fn() on the pool and resumes the calling coroutine on its own executor
// (co_spawn delivers the completion through the awaiting coroutine's executor).
// An exception thrown by fn is rethrown in the caller. Deliberately not a coroutine
// itself: GCC 12 destroys a prvalue argument of a coroutine call inside a co_await
// expression twice (a captured shared_ptr would lose a reference per call).
template <class Fn>
asio::awaitable<std::invoke_result_t<Fn&>> run_blocking(BlockingPool& pool, Fn fn) {
  using Result = std::invoke_result_t<Fn&>;
  static_assert(!std::is_void_v<Result>, "run_blocking needs a function returning a value");
  return asio::co_spawn(
      pool.executor(), [fn = std::move(fn)]() mutable -> asio::awaitable<Result> { co_return fn(); },
      asio::use_awaitable);
}

}  // namespace doorman::proxy
