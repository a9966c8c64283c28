// serve(): builds the blocking pool, the workers and the admin listener, runs
// until SIGTERM/SIGINT, then drains (bounded) and tears down in an order that
// keeps every pending completion's target alive (see the end of serve()).
#include "proxy/server.hpp"

#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admin_server.hpp"
#include "proxy/blocking_pool.hpp"
#include "proxy/heap_reserve.hpp"
#include "proxy/listen_address.hpp"
#include "proxy/metrics.hpp"
#include "proxy/policy_snapshot.hpp"
#include "proxy/worker.hpp"

namespace doorman::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// In-flight requests get this long after SIGTERM; then their connections are closed.
constexpr auto kDrainBound = std::chrono::seconds(10);
// Undelivered events get this long at shutdown; the rest are abandoned and counted.
constexpr auto kHookDrainBound = std::chrono::seconds(5);

int worker_count(const config::Config& config) {
  if (config.server.workers > 0) return config.server.workers;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string upstream_address(const config::UpstreamConfig& upstream) {
  const bool v6 = upstream.host.find(':') != std::string::npos;
  return (v6 ? "[" + upstream.host + "]" : upstream.host) + ":" + std::to_string(upstream.port);
}

// Waits for SIGTERM/SIGINT on the calling thread; each SIGHUP reloads the request
// policies here, off the workers (they pick the new snapshot up per request).
void wait_for_stop_signal(Runtime& runtime) {
  asio::io_context control(1);
  asio::signal_set signals(control, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      try {
        reload_policies(runtime, std::cerr);
      } catch (const std::exception& e) {
        // Whatever went wrong, the running policies stay and doorman keeps serving.
        std::cerr << "doorman: reload refused: " << e.what() << std::endl;
      }
      signals.async_wait(on_signal);
      return;
    }
    std::cerr << "doorman: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT") << ", draining" << std::endl;
    control.stop();
  };
  signals.async_wait(on_signal);
  control.run();
}

}  // namespace

int serve(std::shared_ptr<Runtime> runtime) {
  const auto& config = *runtime->config;
  if (config.server.tls) {
    // Refuse rather than serve plain HTTP where TLS was asked for.
    throw std::runtime_error(
        "server.tls: TLS termination is not supported yet; terminate TLS in front of doorman");
  }
  // A peer that closed its end must not kill the process on write.
  std::signal(SIGPIPE, SIG_IGN);
  // Ignored until the signal_set below takes it over: a reload request must never kill doorman.
  std::signal(SIGHUP, SIG_IGN);

  const auto listen = resolve_endpoints(config.server.listen, "server.listen").front();
  const auto upstream = resolve_endpoints(upstream_address(config.upstream), "upstream.url");
  std::vector<std::string> backend_names;
  for (const auto& backend : config.auth.backends) backend_names.push_back(backend.name);
  metrics().set_backend_names(std::move(backend_names));

  // Argon2 and bcrypt run in the runtime's hash helper process: a login storm
  // slows logins, not proxied requests (hash_helper.hpp). The auth API and the
  // proxied path's lookups each have their own pool and database sessions.
  keep_freed_heap_memory();
  const PoolSizes sizes = pool_sizes(config);
  BlockingPool auth_api_pool(sizes.auth_api);
  BlockingPool lookup_pool(sizes.lookups);
  const BlockingPools pools{auth_api_pool, lookup_pool};
  const int count = worker_count(config);
  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    workers.push_back(std::make_unique<Worker>(i, runtime, pools, listen, upstream));
  std::unique_ptr<AdminServer> admin;
  std::string admin_text;
  if (config.server.admin_listen && !config.server.admin_listen->empty()) {
    const auto admin_endpoint = resolve_endpoints(*config.server.admin_listen, "server.admin_listen").front();
    admin = std::make_unique<AdminServer>(runtime, lookup_pool, admin_endpoint, upstream);
    admin_text = ", admin on " + format_endpoint(admin_endpoint);
  }

  if (runtime->hooks) {
    // Events are delivered from the workers' loops; one user's events stay on one loop.
    std::vector<asio::any_io_executor> executors;
    for (auto& worker : workers) executors.push_back(worker->context().get_executor());
    runtime->hooks->start(std::move(executors));
  }
  // Other replicas' changes reach this cache from here on (until it has subscribed, the TTL bounds them).
  if (runtime->invalidation_bus) runtime->invalidation_bus->start();
  for (auto& worker : workers) worker->start();
  if (admin) admin->start();
  std::cerr << "doorman: listening on " << format_endpoint(listen) << " (" << count
            << (count == 1 ? " worker" : " workers") << ")" << admin_text << ", upstream "
            << upstream_address(config.upstream) << std::endl;

  wait_for_stop_signal(*runtime);

  // Teardown order: the admin stops; workers drain and their threads end (their
  // io_contexts have no work left); then the blocking pool finishes queued work,
  // whose completions target io_contexts that are still alive; then all is destroyed.
  if (admin) admin->stop();
  if (runtime->hooks) runtime->hooks->stop(kHookDrainBound);
  for (auto& worker : workers) worker->stop(kDrainBound);
  for (auto& worker : workers) worker->join();
  auth_api_pool.join();
  lookup_pool.join();
  if (runtime->invalidation_bus) runtime->invalidation_bus->stop();
  workers.clear();
  admin.reset();
  std::cerr << "doorman: stopped" << std::endl;
  return 0;
}

}  // namespace doorman::proxy
