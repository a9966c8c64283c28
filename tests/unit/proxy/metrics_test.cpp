// Tests for proxy/metrics.cpp: every family renders in Prometheus text format,
// counters land on their labels, the histogram is cumulative, gauges go down.
#include "proxy/metrics.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <thread>

using doorman::proxy::AuthResult;
using doorman::proxy::Metrics;
using doorman::proxy::RouteClass;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Metrics: every family has HELP and TYPE, and starts at zero") {
  const Metrics m;
  const auto text = m.render();
  for (const char* type_line :
       {"# TYPE doorman_requests_total counter", "# TYPE doorman_auth_results_total counter",
        "# TYPE doorman_upstream_latency_seconds histogram", "# TYPE doorman_upstream_pool_idle gauge",
        "# TYPE doorman_hook_deliveries_total counter", "# TYPE doorman_hook_failures_total counter",
        "# TYPE doorman_hash_helper_restarts_total counter",
        "# TYPE doorman_hash_helper_pauses_total counter"}) {
    CAPTURE(std::string(type_line));
    CHECK(has_line(text, type_line));
  }
  CHECK(text.find("# HELP doorman_requests_total ") != std::string::npos);
  CHECK(has_line(text, "doorman_requests_total{route_class=\"auth_api\",status=\"1xx\"} 0"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"rejected\",status=\"5xx\"} 0"));
  CHECK(has_line(text, "doorman_auth_results_total{backend=\"none\",outcome=\"no_user\"} 0"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"+Inf\"} 0"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_count 0"));
  CHECK(has_line(text, "doorman_upstream_pool_idle 0"));
  CHECK(has_line(text, "doorman_hook_deliveries_total 0"));
  CHECK(has_line(text, "doorman_hash_helper_restarts_total 0"));
  CHECK(text.back() == '\n');
}

TEST_CASE("Metrics: requests by route class and status class") {
  Metrics m;
  m.count_request(RouteClass::proxied, 200);
  m.count_request(RouteClass::proxied, 204);
  m.count_request(RouteClass::proxied, 502);
  m.count_request(RouteClass::auth_api, 422);
  m.count_request(RouteClass::rejected, 400);
  m.count_request(RouteClass::admin, 101);
  m.count_request(RouteClass::proxied, 0);    // no response: 5xx
  m.count_request(RouteClass::proxied, 999);  // nonsense: 5xx
  const auto text = m.render();
  CHECK(has_line(text, "doorman_requests_total{route_class=\"proxied\",status=\"2xx\"} 2"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"proxied\",status=\"5xx\"} 3"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"auth_api\",status=\"4xx\"} 1"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"rejected\",status=\"4xx\"} 1"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"admin\",status=\"1xx\"} 1"));
  CHECK(has_line(text, "doorman_requests_total{route_class=\"admin\",status=\"2xx\"} 0"));
}

TEST_CASE("Metrics: auth results by backend name") {
  Metrics m;
  m.set_backend_names({"jwt", "cookie", "we\"ird"});
  m.count_auth(0, AuthResult::authenticated);
  m.count_auth(0, AuthResult::authenticated);
  m.count_auth(1, AuthResult::inactive);
  m.count_auth(2, AuthResult::unavailable);
  m.count_auth(-1, AuthResult::no_user);
  m.count_auth(1000, AuthResult::authenticated);  // ignored, no crash
  const auto text = m.render();
  CHECK(has_line(text, "doorman_auth_results_total{backend=\"jwt\",outcome=\"authenticated\"} 2"));
  CHECK(has_line(text, "doorman_auth_results_total{backend=\"cookie\",outcome=\"inactive\"} 1"));
  CHECK(has_line(text, "doorman_auth_results_total{backend=\"we\\\"ird\",outcome=\"unavailable\"} 1"));
  CHECK(has_line(text, "doorman_auth_results_total{backend=\"none\",outcome=\"no_user\"} 1"));
  CHECK(text.find("backend=\"\"") == std::string::npos);  // unnamed slots are not rendered
}

TEST_CASE("Metrics: upstream latency histogram is cumulative") {
  using namespace std::chrono_literals;
  Metrics m;
  m.observe_upstream_latency(100us);  // <= 0.0005
  m.observe_upstream_latency(500us);  // == 0.0005: le is inclusive
  m.observe_upstream_latency(3ms);    // <= 0.005
  m.observe_upstream_latency(2s);     // <= 2.5
  m.observe_upstream_latency(120s);   // +Inf
  m.observe_upstream_latency(-5ms);   // a clock step: counts as 0
  const auto text = m.render();
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"0.0005\"} 3"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"0.001\"} 3"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"0.005\"} 4"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"1\"} 4"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"2.5\"} 5"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"60\"} 5"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_bucket{le=\"+Inf\"} 6"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_count 6"));
  CHECK(has_line(text, "doorman_upstream_latency_seconds_sum 122.0036"));
}

TEST_CASE("Metrics: gauge, hook and hash helper counters") {
  Metrics m;
  m.add_upstream_pool_idle(3);
  m.add_upstream_pool_idle(-1);
  CHECK(has_line(m.render(), "doorman_upstream_pool_idle 2"));
  m.add_upstream_pool_idle(-5);
  CHECK(has_line(m.render(), "doorman_upstream_pool_idle -3"));
  m.count_hook_delivery();
  m.count_hook_failure();
  m.count_hook_failure();
  m.count_hash_helper_restart();
  m.count_hash_helper_pause();
  m.count_hash_helper_pause();
  const auto text = m.render();
  CHECK(has_line(text, "doorman_hook_deliveries_total 1"));
  CHECK(has_line(text, "doorman_hook_failures_total 2"));
  CHECK(has_line(text, "doorman_hash_helper_restarts_total 1"));
  CHECK(has_line(text, "doorman_hash_helper_pauses_total 2"));
}

TEST_CASE("Metrics: concurrent recording loses nothing") {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) m.count_request(RouteClass::proxied, 200);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(has_line(m.render(), "doorman_requests_total{route_class=\"proxied\",status=\"2xx\"} 40000"));
}

TEST_CASE("metrics() is one process-wide registry") {
  CHECK(&doorman::proxy::metrics() == &doorman::proxy::metrics());
}
