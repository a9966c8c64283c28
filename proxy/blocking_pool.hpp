// The bounded thread pool for blocking work (Argon2, SOCI): workers never block;
// a coroutine hands a call to the pool and resumes on its own worker when done.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace doorman::proxy {

namespace asio = boost::asio;

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  std::size_t size() const { return threads_; }
  // Waits for queued work to finish; the pool takes no more afterwards.
  void join();

 private:
  std::size_t threads_;
  asio::thread_pool pool_;
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
