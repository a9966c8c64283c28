// The metrics table and registry: every family doorman exports is one row of
// kFamilies; its cells live in one flat array of atomics laid out from the table.
#include "proxy/metrics.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <string_view>

namespace doorman::proxy {
namespace {

enum class Kind { counter, gauge, histogram };

// A label dimension. Each has a fixed number of values, so a series is an index.
enum class Axis { none, route_class, status, backend, outcome };

// Values in enum order (RouteClass, AuthResult).
constexpr std::string_view kRouteClasses[] = {"auth_api", "proxied", "admin", "rejected"};
constexpr std::string_view kStatusClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::string_view kAuthResults[] = {"authenticated", "inactive", "no_user", "unavailable"};
constexpr std::size_t kNoBackendSlot = Metrics::max_backends;  // label "none"

// Upper bounds (le) of the latency histogram, from loopback to the default 60 s response timeout.
constexpr std::int64_t kLatencyBucketsNs[] = {
    500'000,       1'000'000,      2'500'000,      5'000'000,      10'000'000,    25'000'000,
    50'000'000,    100'000'000,    250'000'000,    500'000'000,    1'000'000'000, 2'500'000'000,
    5'000'000'000, 10'000'000'000, 30'000'000'000, 60'000'000'000,
};
constexpr std::size_t kBuckets = std::size(kLatencyBucketsNs);
// Histogram cells: one per bucket (not cumulative), +Inf, then the sum in nanoseconds.
constexpr std::size_t kInfSlot = kBuckets;
constexpr std::size_t kSumSlot = kBuckets + 1;

struct Family {
  std::string_view name;
  Kind kind;
  std::string_view help;
  Axis first = Axis::none;
  Axis second = Axis::none;
};

enum FamilyId : std::size_t {
  requests_total,
  auth_results_total,
  upstream_latency_seconds,
  upstream_pool_idle,
  hook_deliveries_total,
  hook_failures_total,
  hash_helper_restarts_total,
  hash_helper_pauses_total,
  family_count,
};

// The one table of every metric doorman exports, in FamilyId order.
constexpr Family kFamilies[] = {
    {"doorman_requests_total", Kind::counter, "Requests answered, by route class and status class.",
     Axis::route_class, Axis::status},
    {"doorman_auth_results_total", Kind::counter,
     "Authentication results of forwarded requests, by deciding backend and outcome.", Axis::backend,
     Axis::outcome},
    {"doorman_upstream_latency_seconds", Kind::histogram,
     "Time from sending a request upstream to receiving its response header."},
    {"doorman_upstream_pool_idle", Kind::gauge, "Idle keep-alive upstream connections, all workers."},
    {"doorman_hook_deliveries_total", Kind::counter, "Events delivered to the hook URL."},
    {"doorman_hook_failures_total", Kind::counter,
     "Event hook delivery attempts that failed (each retry counts)."},
    {"doorman_hash_helper_restarts_total", Kind::counter,
     "Times the password hashing process was found dead and started again."},
    {"doorman_hash_helper_pauses_total", Kind::counter,
     "Times the password hashing process was stopped for a while because proxied traffic needed every CPU."},
};
static_assert(std::size(kFamilies) == family_count);

constexpr std::size_t axis_size(Axis axis) {
  switch (axis) {
    case Axis::none:
      return 1;
    case Axis::route_class:
      return std::size(kRouteClasses);
    case Axis::status:
      return std::size(kStatusClasses);
    case Axis::backend:
      return Metrics::max_backends + 1;
    case Axis::outcome:
      return std::size(kAuthResults);
  }
  return 1;
}

constexpr std::size_t family_cells(const Family& f) {
  const std::size_t series = axis_size(f.first) * axis_size(f.second);
  return f.kind == Kind::histogram ? series * (kSumSlot + 1) : series;
}

constexpr std::size_t family_offset(std::size_t id) {
  std::size_t offset = 0;
  for (std::size_t i = 0; i < id; ++i) offset += family_cells(kFamilies[i]);
  return offset;
}

constexpr std::size_t kTotalCells = family_offset(family_count);

constexpr std::size_t cell(FamilyId id, std::size_t first = 0, std::size_t second = 0) {
  return family_offset(id) + first * axis_size(kFamilies[id].second) + second;
}

std::size_t status_class(int status) {
  return status >= 100 && status <= 599 ? static_cast<std::size_t>(status / 100 - 1)
                                        : std::size(kStatusClasses) - 1;
}

// Shortest round-trip digits, never exponent form: le="0.0005" reads as written.
void append_number(std::string& out, double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  out.append(buffer, result.ptr);
}

// Backend names come from config: escape as the exposition format requires.
void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

struct Label {
  std::string_view name;
  std::string_view value;
};

void append_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels,
                   std::string_view value) {
  out.append(name);
  bool first = true;
  for (const auto& label : labels) {
    if (label.name.empty()) continue;
    out.append(first ? "{" : ",");
    first = false;
    out.append(label.name).append("=\"");
    append_label_value(out, label.value);
    out.append("\"");
  }
  if (!first) out.append("}");
  out.append(" ").append(value).append("\n");
}

std::string_view axis_label(Axis axis) {
  switch (axis) {
    case Axis::none:
      return {};
    case Axis::route_class:
      return "route_class";
    case Axis::status:
      return "status";
    case Axis::backend:
      return "backend";
    case Axis::outcome:
      return "outcome";
  }
  return {};
}

// The (index, label value) pairs an axis renders: every fixed value, or the
// configured backends followed by "none".
std::vector<std::pair<std::size_t, std::string_view>> axis_values(Axis axis,
                                                                  const std::vector<std::string>& backends) {
  std::vector<std::pair<std::size_t, std::string_view>> values;
  auto fixed = [&](const auto& names) {
    for (std::size_t i = 0; i < std::size(names); ++i) values.emplace_back(i, names[i]);
  };
  switch (axis) {
    case Axis::none:
      values.emplace_back(0, std::string_view{});
      break;
    case Axis::route_class:
      fixed(kRouteClasses);
      break;
    case Axis::status:
      fixed(kStatusClasses);
      break;
    case Axis::outcome:
      fixed(kAuthResults);
      break;
    case Axis::backend:
      for (std::size_t i = 0; i < backends.size() && i < Metrics::max_backends; ++i)
        values.emplace_back(i, backends[i]);
      values.emplace_back(kNoBackendSlot, "none");
      break;
  }
  return values;
}

}  // namespace

struct Metrics::Cells {
  // Shared by all workers: relaxed adds contend on a cache line under load, which
  // costs far less than a request; per-worker striping can come if profiles say so.
  std::array<std::atomic<std::uint64_t>, kTotalCells> values{};

  void add(std::size_t index, std::uint64_t n = 1) noexcept {
    values[index].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(std::size_t index) const noexcept {
    return values[index].load(std::memory_order_relaxed);
  }
};

Metrics::Metrics() : cells_(std::make_unique<Cells>()) {}
Metrics::~Metrics() = default;

void Metrics::set_backend_names(std::vector<std::string> names) {
  const std::lock_guard lock(names_mutex_);
  backend_names_ = std::move(names);
}

void Metrics::count_request(RouteClass route, int status) noexcept {
  cells_->add(cell(requests_total, static_cast<std::size_t>(route), status_class(status)));
}

void Metrics::count_auth(int backend_index, AuthResult result) noexcept {
  const std::size_t slot = backend_index < 0 ? kNoBackendSlot : static_cast<std::size_t>(backend_index);
  if (slot > kNoBackendSlot) return;  // beyond max_backends: no label for it
  cells_->add(cell(auth_results_total, slot, static_cast<std::size_t>(result)));
}

void Metrics::observe_upstream_latency(std::chrono::nanoseconds latency) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(latency.count(), 0);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(std::begin(kLatencyBucketsNs), std::end(kLatencyBucketsNs), ns) -
      std::begin(kLatencyBucketsNs));
  const std::size_t base = cell(upstream_latency_seconds);
  cells_->add(base + bucket);  // == kInfSlot past the last bound
  cells_->add(base + kSumSlot, static_cast<std::uint64_t>(ns));
}

void Metrics::add_upstream_pool_idle(std::int64_t delta) noexcept {
  // Two's complement: adding the unsigned image of a negative delta subtracts.
  cells_->add(cell(upstream_pool_idle), static_cast<std::uint64_t>(delta));
}

void Metrics::count_hook_delivery() noexcept { cells_->add(cell(hook_deliveries_total)); }
void Metrics::count_hook_failure() noexcept { cells_->add(cell(hook_failures_total)); }
void Metrics::count_hash_helper_restart() noexcept { cells_->add(cell(hash_helper_restarts_total)); }
void Metrics::count_hash_helper_pause() noexcept { cells_->add(cell(hash_helper_pauses_total)); }

std::string Metrics::render() const {
  std::vector<std::string> backends;
  {
    const std::lock_guard lock(names_mutex_);
    backends = backend_names_;
  }
  std::string out;
  out.reserve(4096);
  for (std::size_t id = 0; id < family_count; ++id) {
    const Family& family = kFamilies[id];
    static constexpr std::string_view kTypes[] = {"counter", "gauge", "histogram"};
    out.append("# HELP ").append(family.name).append(" ").append(family.help).append("\n");
    out.append("# TYPE ")
        .append(family.name)
        .append(" ")
        .append(kTypes[static_cast<int>(family.kind)])
        .append("\n");

    if (family.kind == Kind::histogram) {
      // Only unlabelled histograms so far; buckets are rendered cumulative.
      const std::size_t base = cell(static_cast<FamilyId>(id));
      const std::string bucket_name = std::string(family.name) + "_bucket";
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b <= kBuckets; ++b) {
        cumulative += cells_->get(base + b);
        std::string le;
        if (b == kInfSlot) {
          le = "+Inf";
        } else {
          append_number(le, static_cast<double>(kLatencyBucketsNs[b]) / 1e9);
        }
        append_sample(out, bucket_name, {{"le", le}}, std::to_string(cumulative));
      }
      std::string sum;
      append_number(sum, static_cast<double>(cells_->get(base + kSumSlot)) / 1e9);
      append_sample(out, std::string(family.name) + "_sum", {}, sum);
      append_sample(out, std::string(family.name) + "_count", {}, std::to_string(cumulative));
      continue;
    }

    for (const auto& [i, first_value] : axis_values(family.first, backends)) {
      for (const auto& [j, second_value] : axis_values(family.second, backends)) {
        const std::uint64_t raw = cells_->get(cell(static_cast<FamilyId>(id), i, j));
        const std::string value =
            family.kind == Kind::gauge ? std::to_string(static_cast<std::int64_t>(raw)) : std::to_string(raw);
        append_sample(out, family.name,
                      {{axis_label(family.first), first_value}, {axis_label(family.second), second_value}},
                      value);
      }
    }
  }
  return out;
}

Metrics& metrics() {
  static Metrics registry;
  return registry;
}

}  // namespace doorman::proxy
