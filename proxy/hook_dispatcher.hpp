// Event delivery (DESIGN.md §8): every event routes fire becomes a signed
// webhook POSTed to hooks.url from the workers' event loops. enqueue() never
// blocks or fails the request that fired the event; one user's events are
// delivered in order (one loop per user, one delivery in flight per user);
// failures are retried with exponential backoff up to a bound; and a slow or
// dead target cannot grow memory without bound (a bounded queue whose
// overflow is dropped, counted and logged).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "proxy/outbound_http.hpp"
#include "routes/auth_api.hpp"

namespace doorman::proxy {

// Delivery limits. Not in the config file: the defaults suit any target; tests shrink them.
struct HookDispatcherOptions {
  std::size_t max_queued = 10000;                // events accepted and not yet finished, all users
  int max_attempts = 6;                          // per event, the first try included
  std::chrono::milliseconds first_backoff{100};  // doubled after each failed attempt ...
  std::chrono::milliseconds max_backoff{5000};   // ... up to this
  std::size_t lanes_per_loop = 8;                // concurrent deliveries (connections) per event loop
  std::uint64_t log_drops_every = 1000;          // the first drop and every Nth after it are logged
};

class HookDispatcher {
 public:
  // Throws std::invalid_argument when hooks.url is not a usable http:// URL (startup).
  explicit HookDispatcher(const config::HooksConfig& hooks, HookDispatcherOptions options = {});
  ~HookDispatcher();
  HookDispatcher(const HookDispatcher&) = delete;
  HookDispatcher& operator=(const HookDispatcher&) = delete;

  // Deliveries run on these executors (the workers' io_contexts), a user's always
  // on the same one. Each must run on one thread (what is posted to it runs in
  // posting order, without locks). Call once, before requests are served.
  // enqueue() must not be called once their io_contexts are destroyed (serve()
  // joins the blocking pool, where events are fired, before destroying workers).
  void start(std::vector<boost::asio::any_io_executor> executors);

  // Thread-safe, non-blocking, never throws: signs the event now (later changes
  // to the user cannot change what is sent) and queues it. Before start(), after
  // the stop bound, or with the queue full, the event is dropped (counted, logged).
  void enqueue(routes::Event event) noexcept;

  // The sink AuthApi fires events into (enqueue). It shares the dispatcher's
  // state, so it stays safe to call even after this object is destroyed.
  routes::EventSink make_event_sink() const;

  // Thread-safe, non-blocking: deliveries in flight and queued events get until
  // now + `bound`; what is left then is abandoned (counted as failed, logged).
  // The dispatcher is done when the executors' io_contexts run out of work.
  void stop(std::chrono::steady_clock::duration bound);

  // Counters. Metrics gets doorman_hook_deliveries_total (delivered) and
  // doorman_hook_failures_total (failed_attempts) as they happen.
  std::uint64_t delivered() const;        // events answered 2xx
  std::uint64_t failed() const;           // events given up: 4xx, attempts exhausted, or shutdown
  std::uint64_t failed_attempts() const;  // attempts that did not get a 2xx (each retry counts)
  std::uint64_t dropped() const;          // events never queued: queue full or not running
  std::size_t queued() const;             // accepted and not finished yet

 private:
  struct Core;
  struct Shared;
  class Loop;
  std::shared_ptr<Shared> shared_;
};

}  // namespace doorman::proxy
