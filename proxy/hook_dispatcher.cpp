// The hook dispatcher; see hook_dispatcher.hpp. Layout:
// - Core: config, limits and counters, shared by everything below.
// - Shared: Core + one Loop per executor; what enqueue() and the event sink use.
// - Loop: everything on one single-threaded executor (a worker's io_context), so
//   it needs no lock: per-user FIFOs, the queue of users ready for delivery, and
//   up to lanes_per_loop "lanes". A lane is a coroutine with one
//   kept-alive connection that repeatedly takes the next ready user and delivers
//   that user's oldest event (retrying as needed). A user is either idle, in the
//   ready queue once, or busy in exactly one lane: that is what keeps one user's
//   events in order while other users' events proceed in parallel.
// A Loop owns no I/O object (sockets and timers live in coroutine frames), so it
// may outlive its io_context: the event sink is held by the Runtime, which
// outlives the workers.
#include "proxy/hook_dispatcher.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "authcore/event_body.hpp"
#include "proxy/metrics.hpp"

namespace doorman::proxy {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// One write per line, so lines from several threads do not interleave.
void log_line(std::string line) noexcept {
  line.push_back('\n');
  std::string_view rest = line;
  while (!rest.empty()) {
    const auto n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

// An event as it will be sent: signed once, at enqueue.
struct Pending {
  std::string user_id;
  std::string event;
  std::string body;
  std::string signature;  // "sha256=<hex>"
};

}  // namespace

struct HookDispatcher::Core {
  config::HooksConfig hooks;
  HookDispatcherOptions options;
  OutboundTarget target;
  std::atomic<std::size_t> queued{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> failed_attempts{0};
  std::atomic<std::uint64_t> dropped{0};
};

class HookDispatcher::Loop : public std::enable_shared_from_this<Loop> {
 public:
  Loop(std::shared_ptr<Core> core, asio::any_io_executor executor)
      : core_(std::move(core)), executor_(std::move(executor)) {}

  const asio::any_io_executor& executor() const { return executor_; }

  // On the loop: queue `pending` behind the user's earlier events.
  void accept(Pending pending);
  // On the loop: from now on nothing may outlive `deadline`.
  void begin_stop(Clock::time_point deadline);

 private:
  struct Lane {
    explicit Lane(const asio::any_io_executor& executor) : connection(executor), backoff(executor) {}
    OutboundConnection connection;
    asio::steady_timer backoff;
  };
  struct UserQueue {
    std::deque<Pending> events;
    bool busy = false;  // its front event is being delivered by a lane
  };
  enum class Outcome { delivered, failed, abandoned };

  asio::awaitable<void> run_lane(std::shared_ptr<Loop> self);
  asio::awaitable<void> watch_stop_deadline(std::shared_ptr<Loop> self);
  asio::awaitable<Outcome> deliver(Lane& lane, const Pending& pending);
  void spawn_lane_if_useful();
  bool stop_expired() const { return stopping_ && Clock::now() >= stop_deadline_; }
  void finish(std::size_t events) { core_->queued.fetch_sub(events, std::memory_order_relaxed); }
  void abandon(std::size_t events);
  void abandon_queued();

  std::shared_ptr<Core> core_;
  asio::any_io_executor executor_;
  asio::steady_timer* stop_timer_ = nullptr;          // watch_stop_deadline's, while it runs
  std::unordered_map<std::string, UserQueue> users_;  // references stay valid across inserts
  std::deque<std::string> ready_;                     // users with events and no lane
  std::vector<Lane*> lanes_;                          // running lanes, to cancel at the stop bound
  bool stopping_ = false;
  Clock::time_point stop_deadline_ = Clock::time_point::max();
  std::uint64_t abandoned_ = 0;  // at shutdown, logged once when the last lane ends
};

struct HookDispatcher::Shared {
  std::shared_ptr<Core> core;
  std::vector<std::shared_ptr<Loop>> loops;  // written by start() before `started`
  std::atomic<bool> started{false};
  std::atomic<Clock::rep> stop_deadline{Clock::time_point::max().time_since_epoch().count()};

  void enqueue(routes::Event event) noexcept;
  void drop(const routes::Event& event, const char* why) noexcept;
};

// ---------------------------------------------------------------------------
// Loop

void HookDispatcher::Loop::accept(Pending pending) {
  if (stop_expired()) {
    abandon(1);
    return;
  }
  auto [it, inserted] = users_.try_emplace(pending.user_id);
  UserQueue& queue = it->second;
  queue.events.push_back(std::move(pending));
  // Idle before this event: it becomes ready. Otherwise it is already ready or busy.
  if (!queue.busy && queue.events.size() == 1) ready_.push_back(it->first);
  spawn_lane_if_useful();
}

void HookDispatcher::Loop::spawn_lane_if_useful() {
  if (ready_.empty() || lanes_.size() >= std::max<std::size_t>(1, core_->options.lanes_per_loop)) return;
  // Registered here, not when the coroutine first runs, so a burst spawns no more lanes than allowed.
  lanes_.push_back(nullptr);
  asio::co_spawn(executor_, run_lane(shared_from_this()), asio::detached);
}

void HookDispatcher::Loop::begin_stop(Clock::time_point deadline) {
  if (stopping_) return;  // the first bound stands
  stopping_ = true;
  stop_deadline_ = deadline;
  // A delivery or backoff started before the stop may end after the bound: cut it
  // there. Lanes started after this bound their own waits by the deadline.
  if (!lanes_.empty() && !stop_timer_)
    asio::co_spawn(executor_, watch_stop_deadline(shared_from_this()), asio::detached);
}

asio::awaitable<void> HookDispatcher::Loop::watch_stop_deadline(std::shared_ptr<Loop> self) {
  (void)self;  // held only to keep this Loop alive while the watch runs
  asio::steady_timer timer(executor_, stop_deadline_);
  stop_timer_ = &timer;
  // Reset also when the frame is destroyed by the io_context's shutdown.
  struct Unregister {
    Loop& loop;
    ~Unregister() { loop.stop_timer_ = nullptr; }
  } unregister{*this};
  auto [ec] = co_await timer.async_wait(nothrow);
  if (ec) co_return;  // the last lane ended first
  for (Lane* lane : lanes_) {
    if (!lane) continue;
    lane->connection.cancel();
    lane->backoff.cancel();
  }
}

void HookDispatcher::Loop::abandon(std::size_t events) {
  abandoned_ += events;
  core_->failed.fetch_add(events, std::memory_order_relaxed);
  finish(events);
}

void HookDispatcher::Loop::abandon_queued() {
  std::size_t count = 0;
  for (auto it = users_.begin(); it != users_.end();) {
    UserQueue& queue = it->second;
    if (queue.busy) {
      // The front event belongs to a lane, which accounts for it.
      count += queue.events.size() - 1;
      queue.events.erase(queue.events.begin() + 1, queue.events.end());
      ++it;
    } else {
      count += queue.events.size();
      it = users_.erase(it);
    }
  }
  ready_.clear();
  abandon(count);
}

asio::awaitable<void> HookDispatcher::Loop::run_lane(std::shared_ptr<Loop> self) {
  (void)self;  // held only to keep this Loop alive while the lane runs
  Lane lane(executor_);
  // Take the slot spawn_lane_if_useful() reserved; give it back however the frame ends.
  *std::find(lanes_.begin(), lanes_.end(), nullptr) = &lane;
  struct Unregister {
    std::vector<Lane*>& lanes;
    Lane* lane;
    ~Unregister() { lanes.erase(std::find(lanes.begin(), lanes.end(), lane)); }
  };
  std::optional<Unregister> unregister(std::in_place, lanes_, &lane);
  while (!ready_.empty()) {
    if (stop_expired()) {
      abandon_queued();
      break;
    }
    const std::string user_id = std::move(ready_.front());
    ready_.pop_front();
    UserQueue& queue = users_.find(user_id)->second;
    queue.busy = true;
    const Outcome outcome = co_await deliver(lane, queue.events.front());
    if (outcome == Outcome::abandoned) {
      abandon(1);
    } else {
      finish(1);
    }
    queue.events.pop_front();
    queue.busy = false;
    if (queue.events.empty()) {
      users_.erase(user_id);
    } else {
      ready_.push_back(user_id);
    }
  }
  unregister.reset();
  if (stopping_ && lanes_.empty()) {
    // Nothing of ours is left on this executor, so its io_context can finish now.
    if (stop_timer_) stop_timer_->cancel();
    if (abandoned_ > 0) {
      log_line("doorman: hook delivery: " + std::to_string(abandoned_) +
               " event(s) not delivered before shutdown");
      abandoned_ = 0;
    }
  }
}

asio::awaitable<HookDispatcher::Loop::Outcome> HookDispatcher::Loop::deliver(Lane& lane,
                                                                             const Pending& pending) {
  Core& core = *core_;
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"},
      {"X-Doorman-Event", pending.event},
      {"X-Doorman-Signature", pending.signature},
      {"User-Agent", "doorman"},
  };
  const auto timeout = std::chrono::milliseconds(std::max(1, core.hooks.timeout_ms));
  const int max_attempts = std::max(1, core.options.max_attempts);
  std::string last_error;
  int attempts = 0;
  for (;;) {
    if (stop_expired()) co_return Outcome::abandoned;
    Clock::duration attempt_timeout = timeout;
    if (stopping_) attempt_timeout = std::min(attempt_timeout, stop_deadline_ - Clock::now());
    ++attempts;
    const OutboundResult result =
        co_await lane.connection.post(core.target, pending.body, headers, attempt_timeout);
    if (result.ok()) {
      core.delivered.fetch_add(1, std::memory_order_relaxed);
      metrics().count_hook_delivery();
      co_return Outcome::delivered;
    }
    if (stop_expired()) co_return Outcome::abandoned;
    core.failed_attempts.fetch_add(1, std::memory_order_relaxed);
    metrics().count_hook_failure();
    last_error = result.status != 0 ? "status " + std::to_string(result.status) : result.error;
    // Only a 5xx or no answer at all may heal; any other answer is the receiver's final word.
    const bool retryable = result.status == 0 || result.status >= 500;
    if (!retryable || attempts >= max_attempts) {
      core.failed.fetch_add(1, std::memory_order_relaxed);
      log_line("doorman: hook delivery failed: event=" + pending.event + " user=" + pending.user_id +
               " attempts=" + std::to_string(attempts) + " last_error=" + last_error +
               (retryable ? "" : " (not retried)"));
      co_return Outcome::failed;
    }
    // 100 ms, 200 ms, 400 ms ... up to max_backoff.
    auto backoff = Clock::duration(core.options.first_backoff);
    for (int i = 1; i < attempts && backoff < core.options.max_backoff; ++i) backoff *= 2;
    backoff = std::min<Clock::duration>(backoff, core.options.max_backoff);
    if (stopping_) backoff = std::min(backoff, stop_deadline_ - Clock::now());
    lane.backoff.expires_after(backoff);
    co_await lane.backoff.async_wait(nothrow);
  }
}

// ---------------------------------------------------------------------------
// Shared

void HookDispatcher::Shared::drop(const routes::Event& event, const char* why) noexcept {
  const std::uint64_t n = core->dropped.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::uint64_t every = std::max<std::uint64_t>(1, core->options.log_drops_every);
  if (n == 1 || n % every == 0) {
    try {
      log_line(std::string("doorman: hook event dropped (") + why + "): event=" + event.name +
               " user=" + event.user.id + " dropped_total=" + std::to_string(n));
    } catch (...) {
      // Out of memory while logging: the drop is still counted.
    }
  }
}

void HookDispatcher::Shared::enqueue(routes::Event event) noexcept {
  if (!started.load(std::memory_order_acquire)) {
    drop(event, "dispatcher not running");
    return;
  }
  if (Clock::now().time_since_epoch().count() >= stop_deadline.load(std::memory_order_relaxed)) {
    drop(event, "shutting down");
    return;
  }
  // Reserve a slot first: a full queue costs no body building.
  if (core->queued.fetch_add(1, std::memory_order_relaxed) >= core->options.max_queued) {
    core->queued.fetch_sub(1, std::memory_order_relaxed);
    drop(event, "queue full");
    return;
  }
  try {
    Pending pending;
    pending.body = authcore::event_body(event.name, event.user, event.token, event.fields);
    pending.signature = authcore::event_signature(core->hooks.secret, pending.body);
    pending.user_id = std::move(event.user.id);
    pending.event = std::move(event.name);
    // By user id, so one user's events share one loop and its FIFO.
    const auto& loop = loops[std::hash<std::string>{}(pending.user_id) % loops.size()];
    // An io_context runs what other threads post in posting order: the user's FIFO order.
    asio::post(loop->executor(),
               [loop, pending = std::move(pending)]() mutable { loop->accept(std::move(pending)); });
  } catch (...) {
    core->queued.fetch_sub(1, std::memory_order_relaxed);
    core->dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------
// HookDispatcher

HookDispatcher::HookDispatcher(const config::HooksConfig& hooks, HookDispatcherOptions options)
    : shared_(std::make_shared<Shared>()) {
  auto core = std::make_shared<Core>();
  core->hooks = hooks;
  core->options = options;
  if (std::string err = parse_outbound_url(hooks.url, core->target); !err.empty())
    throw std::invalid_argument("hooks.url: " + err);
  shared_->core = std::move(core);
}

HookDispatcher::~HookDispatcher() = default;

void HookDispatcher::start(std::vector<asio::any_io_executor> executors) {
  if (executors.empty()) throw std::invalid_argument("HookDispatcher::start: no executors");
  if (shared_->started.load(std::memory_order_relaxed))
    throw std::logic_error("HookDispatcher::start: called twice");
  for (const auto& executor : executors)
    shared_->loops.push_back(std::make_shared<Loop>(shared_->core, executor));
  shared_->started.store(true, std::memory_order_release);
}

void HookDispatcher::enqueue(routes::Event event) noexcept { shared_->enqueue(std::move(event)); }

routes::EventSink HookDispatcher::make_event_sink() const {
  return [shared = shared_](routes::Event event) { shared->enqueue(std::move(event)); };
}

void HookDispatcher::stop(Clock::duration bound) {
  const auto deadline = Clock::now() + bound;
  shared_->stop_deadline.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  if (!shared_->started.load(std::memory_order_acquire)) return;
  for (const auto& loop : shared_->loops)
    asio::post(loop->executor(), [loop, deadline] { loop->begin_stop(deadline); });
}

std::uint64_t HookDispatcher::delivered() const {
  return shared_->core->delivered.load(std::memory_order_relaxed);
}
std::uint64_t HookDispatcher::failed() const { return shared_->core->failed.load(std::memory_order_relaxed); }
std::uint64_t HookDispatcher::failed_attempts() const {
  return shared_->core->failed_attempts.load(std::memory_order_relaxed);
}
std::uint64_t HookDispatcher::dropped() const {
  return shared_->core->dropped.load(std::memory_order_relaxed);
}
std::size_t HookDispatcher::queued() const { return shared_->core->queued.load(std::memory_order_relaxed); }

}  // namespace doorman::proxy
