// Process-wide Prometheus metrics (DESIGN.md §10): counters, gauges and the
// upstream latency histogram, all declared in one table in metrics.cpp. Every
// label set is small and fixed, so recording is an array index and a relaxed
// atomic add: no lock, no allocation, no string on the hot path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace doorman::proxy {

// doorman_requests_total{route_class}: which of the two paths of DESIGN.md §2 (or
// the admin listener) answered; `rejected` = refused before routing (bad target, 4xx framing).
enum class RouteClass : std::uint8_t { auth_api, proxied, admin, rejected };

// doorman_auth_results_total{outcome}, from the Authenticator's outcome.
enum class AuthResult : std::uint8_t {
  authenticated,  // an active user
  inactive,       // a user, but inactive (counts as no user)
  no_user,        // no backend yielded a user
  unavailable,    // a store needed to decide was down (503)
};

class Metrics {
 public:
  // Backends are labelled by config index; more than this many share no label and are not counted.
  static constexpr std::size_t max_backends = 16;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The `backend` label values, by config index (auth.backends order). Call at
  // startup and on reload; not on the hot path.
  void set_backend_names(std::vector<std::string> names);

  // `status` outside 100..599 (no response could be sent) counts as 5xx.
  void count_request(RouteClass route, int status) noexcept;
  // `backend_index` is the backend that yielded the user, or -1 (label "none").
  void count_auth(int backend_index, AuthResult result) noexcept;
  void observe_upstream_latency(std::chrono::nanoseconds latency) noexcept;
  // Workers add the change of their pool's idle connection count (+1 on park, -1 on reuse/close).
  void add_upstream_pool_idle(std::int64_t delta) noexcept;
  void count_hook_delivery() noexcept;
  void count_hook_failure() noexcept;
  void count_hash_helper_restart() noexcept;
  void count_hash_helper_pause() noexcept;

  // Prometheus text exposition format 0.0.4, every series of every family.
  std::string render() const;

 private:
  struct Cells;
  std::unique_ptr<Cells> cells_;
  mutable std::mutex names_mutex_;  // render vs set_backend_names only
  std::vector<std::string> backend_names_;
};

// The process-wide registry.
Metrics& metrics();

}  // namespace doorman::proxy
