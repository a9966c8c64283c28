// Tests for proxy/hook_dispatcher.cpp (and the outbound client it drives,
// proxy/outbound_http.cpp) against a real HTTP receiver on 127.0.0.1: signed
// bodies, order per user under concurrent enqueue, retry after 5xx and after a
// timeout, no retry after 4xx, the bounded queue, and the shutdown bound.
#include "proxy/hook_dispatcher.hpp"

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "authcore/event_body.hpp"
#include "eventually.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using doorman::proxy::HookDispatcher;
using doorman::proxy::HookDispatcherOptions;
using doorman::proxy::OutboundTarget;
using doorman::proxy::parse_outbound_url;
using doorman::routes::Event;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr const char* kSecret = "unit-secret";

struct Received {
  std::string target;
  std::string content_type;
  std::string signature;
  std::string event;
  std::string body;
  int answered = 0;  // the status sent back; 0 = hung or closed
};

// What the receiver does with the n-th request (0-based, across connections).
struct Action {
  enum Kind { answer, hang, close_after_answer } kind = answer;
  int status = 200;
};

// A real HTTP/1.1 server on its own thread. Keep-alive unless told otherwise.
class Receiver {
 public:
  explicit Receiver(std::function<Action(std::size_t)> script = {})
      : script_(std::move(script)),
        acceptor_(context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(context_, accept(), asio::detached);
    thread_ = std::thread([this] { context_.run(); });
  }
  ~Receiver() {
    context_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/_doorman/events") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  std::vector<Received> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
      if (ec) co_return;
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      asio::co_spawn(context_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      auto [ec, n] = co_await http::async_read(socket, buffer, request, nothrow);
      if (ec) co_return;
      Received got;
      got.target = std::string(request.target());
      got.content_type = std::string(request[http::field::content_type]);
      got.signature = std::string(request["X-Doorman-Signature"]);
      got.event = std::string(request["X-Doorman-Event"]);
      got.body = request.body();
      std::size_t index;
      {
        std::lock_guard lock(mutex_);
        index = requests_.size();
        requests_.push_back(got);
      }
      const Action action = script_ ? script_(index) : Action{};
      if (action.kind == Action::hang) {
        asio::steady_timer forever(socket.get_executor(), 1h);
        co_await forever.async_wait(nothrow);
        co_return;
      }
      {
        std::lock_guard lock(mutex_);
        requests_[index].answered = action.status;
      }
      http::response<http::string_body> response(static_cast<http::status>(action.status), 11);
      response.keep_alive(true);
      response.body() = "{}";
      response.prepare_payload();
      std::tie(ec, n) = co_await http::async_write(socket, response, nothrow);
      if (ec || action.kind == Action::close_after_answer) co_return;
    }
  }

  std::function<Action(std::size_t)> script_;
  asio::io_context context_;
  tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  std::vector<Received> requests_;
  std::size_t connections_ = 0;
  std::thread thread_;
};

// The dispatcher's event loops: io_contexts on threads, kept alive until finish().
class Loops {
 public:
  explicit Loops(int n) {
    for (int i = 0; i < n; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
    for (auto& c : contexts_) guards_.emplace_back(c->get_executor());
    for (auto& c : contexts_) threads_.emplace_back([&c] { c->run(); });
  }
  ~Loops() {
    for (auto& c : contexts_) c->stop();
    join();
  }
  std::vector<asio::any_io_executor> executors() const {
    std::vector<asio::any_io_executor> out;
    for (auto& c : contexts_) out.push_back(c->get_executor());
    return out;
  }
  // Drops the work guards: threads end once the dispatcher has no work left. Returns how long that took.
  std::chrono::milliseconds finish() {
    const auto start = std::chrono::steady_clock::now();
    guards_.clear();
    join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

 private:
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

doorman::config::HooksConfig hooks_for(const std::string& url, int timeout_ms = 2000) {
  doorman::config::HooksConfig hooks;
  hooks.url = url;
  hooks.secret = kSecret;
  hooks.timeout_ms = timeout_ms;
  return hooks;
}

HookDispatcherOptions fast_options() {
  HookDispatcherOptions options;
  options.first_backoff = 5ms;
  options.max_backoff = 20ms;
  return options;
}

Event make_event(const std::string& user_id, const std::string& name = "after_login",
                 std::optional<std::vector<std::string>> fields = std::nullopt) {
  Event event;
  event.name = name;
  event.user.id = user_id;
  event.user.email = user_id + "@example.com";
  event.user.hashed_password = "never-sent";
  event.fields = std::move(fields);
  return event;
}

}  // namespace

TEST_CASE("parse_outbound_url") {
  OutboundTarget t;
  CHECK(parse_outbound_url("http://127.0.0.1:8080/_doorman/events", t).empty());
  CHECK(t.host == "127.0.0.1");
  CHECK(t.port == 8080);
  CHECK(t.target == "/_doorman/events");
  CHECK(t.host_header == "127.0.0.1:8080");
  CHECK(parse_outbound_url("http://hooks.internal/", t).empty());
  CHECK(t.port == 80);
  CHECK(t.host_header == "hooks.internal");
  CHECK(parse_outbound_url("http://[::1]:9000/ev", t).empty());
  CHECK(t.host_header == "[::1]:9000");
  CHECK_FALSE(parse_outbound_url("https://hooks.internal/ev", t).empty());
  CHECK_FALSE(parse_outbound_url("ftp://x/", t).empty());
  CHECK_THROWS_AS(HookDispatcher(hooks_for("https://hooks.internal/ev")), std::invalid_argument);
}

TEST_CASE("an event is POSTed signed, with the exact body") {
  Receiver receiver;
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.start(loops.executors());
  const Event event = make_event("11111111-0000-4000-8000-000000000001", "after_update",
                                 std::vector<std::string>{"password"});
  const std::string body = doorman::authcore::event_body(event.name, event.user, event.token, event.fields);
  auto sink = dispatcher.make_event_sink();
  sink(event);
  REQUIRE(eventually([&] { return dispatcher.delivered() == 1; }));
  const auto got = receiver.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].target == "/_doorman/events");
  CHECK(got[0].content_type == "application/json");
  CHECK(got[0].event == "after_update");
  CHECK(got[0].body == body);
  CHECK(got[0].body.find("never-sent") == std::string::npos);
  CHECK(got[0].signature == "sha256=" + doorman::authcore::hmac_sha256_hex(kSecret, body));
  CHECK(dispatcher.failed_attempts() == 0);
  CHECK(eventually([&] { return dispatcher.queued() == 0; }));
  dispatcher.stop(1s);
  CHECK(loops.finish() < 500ms);
}

TEST_CASE("one user's events arrive in order under concurrent enqueue of several users") {
  // Every 7th request fails, so retries and parallel users interleave.
  Receiver receiver([](std::size_t n) { return Action{Action::answer, n % 7 == 3 ? 503 : 200}; });
  Loops loops(2);
  HookDispatcherOptions options = fast_options();
  options.lanes_per_loop = 2;  // fewer lanes than users: users share lanes
  HookDispatcher dispatcher(hooks_for(receiver.url()), options);
  dispatcher.start(loops.executors());

  constexpr int kUsers = 6;
  constexpr int kEach = 40;
  std::vector<std::thread> producers;
  for (int u = 0; u < kUsers; ++u) {
    producers.emplace_back([&, u] {
      const std::string id = "00000000-0000-4000-8000-00000000000" + std::to_string(u);
      for (int i = 0; i < kEach; ++i)
        dispatcher.enqueue(make_event(id, "after_update", std::vector<std::string>{std::to_string(i)}));
    });
  }
  for (auto& t : producers) t.join();
  REQUIRE(eventually([&] { return dispatcher.delivered() == kUsers * kEach; }));
  CHECK(dispatcher.failed() == 0);
  CHECK(dispatcher.dropped() == 0);
  CHECK(dispatcher.failed_attempts() > 0);

  std::map<std::string, std::vector<int>> seen;  // user id -> sequence numbers answered 2xx
  for (const auto& r : receiver.requests()) {
    if (r.answered != 200) continue;
    const auto id_at = r.body.find("\"id\":\"") + 6;
    const std::string id = r.body.substr(id_at, 36);
    const auto f_at = r.body.find("\"fields\":[\"") + 11;
    seen[id].push_back(std::stoi(r.body.substr(f_at, r.body.find('"', f_at) - f_at)));
  }
  REQUIRE(seen.size() == kUsers);
  for (const auto& [id, sequence] : seen) {
    INFO(id);
    REQUIRE(sequence.size() == kEach);
    for (int i = 0; i < kEach; ++i) CHECK(sequence[static_cast<std::size_t>(i)] == i);
  }
  dispatcher.stop(1s);
  CHECK(loops.finish() < 500ms);
}

TEST_CASE("a 500 is retried, then delivered") {
  Receiver receiver([](std::size_t n) { return Action{Action::answer, n == 0 ? 500 : 200}; });
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.start(loops.executors());
  dispatcher.enqueue(make_event("22222222-0000-4000-8000-000000000002"));
  REQUIRE(eventually([&] { return dispatcher.delivered() == 1; }));
  const auto got = receiver.requests();
  REQUIRE(got.size() == 2);
  CHECK(got[0].body == got[1].body);
  CHECK(got[0].signature == got[1].signature);
  CHECK(dispatcher.failed_attempts() == 1);
  CHECK(dispatcher.failed() == 0);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("a 4xx is final: no retry") {
  Receiver receiver([](std::size_t) { return Action{Action::answer, 404}; });
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.start(loops.executors());
  dispatcher.enqueue(make_event("33333333-0000-4000-8000-000000000003"));
  REQUIRE(eventually([&] { return dispatcher.failed() == 1; }));
  std::this_thread::sleep_for(100ms);  // several backoffs long: a retry would have happened
  CHECK(receiver.count() == 1);
  CHECK(dispatcher.failed_attempts() == 1);
  CHECK(dispatcher.delivered() == 0);
  CHECK(dispatcher.queued() == 0);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("connection refused: bounded attempts, then failed") {
  std::string url;
  {
    Receiver gone;
    url = gone.url();
  }  // closed: nothing listens on that port now
  Loops loops(1);
  HookDispatcherOptions options = fast_options();
  options.max_attempts = 3;
  HookDispatcher dispatcher(hooks_for(url), options);
  dispatcher.start(loops.executors());
  dispatcher.enqueue(make_event("44444444-0000-4000-8000-000000000004"));
  REQUIRE(eventually([&] { return dispatcher.failed() == 1; }));
  CHECK(dispatcher.failed_attempts() == 3);
  CHECK(dispatcher.delivered() == 0);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("a receiver that never answers: enqueue stays instant, the timeout triggers a retry") {
  Receiver receiver([](std::size_t n) { return n == 0 ? Action{Action::hang} : Action{}; });
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url(), 150), fast_options());
  dispatcher.start(loops.executors());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) dispatcher.enqueue(make_event("55555555-0000-4000-8000-000000000005"));
  CHECK(std::chrono::steady_clock::now() - start < 100ms);
  REQUIRE(eventually([&] { return dispatcher.delivered() == 100; }));
  CHECK(dispatcher.failed_attempts() == 1);
  CHECK(receiver.count() == 101);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("a kept-alive connection the receiver closed is replaced without a failure") {
  Receiver receiver([](std::size_t) { return Action{Action::close_after_answer, 200}; });
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.start(loops.executors());
  for (int i = 0; i < 5; ++i) dispatcher.enqueue(make_event("66666666-0000-4000-8000-000000000006"));
  REQUIRE(eventually([&] { return dispatcher.delivered() == 5; }));
  CHECK(dispatcher.failed_attempts() == 0);
  CHECK(receiver.count() == 5);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("keep-alive: a burst reuses connections") {
  Receiver receiver;
  Loops loops(1);
  HookDispatcherOptions options = fast_options();
  options.lanes_per_loop = 1;
  HookDispatcher dispatcher(hooks_for(receiver.url()), options);
  dispatcher.start(loops.executors());
  for (int i = 0; i < 50; ++i)
    dispatcher.enqueue(make_event("77777777-0000-4000-8000-00000000000" + std::to_string(i % 3)));
  REQUIRE(eventually([&] { return dispatcher.delivered() == 50; }));
  CHECK(receiver.connections() < 50);
  dispatcher.stop(1s);
  loops.finish();
}

TEST_CASE("a full queue drops and counts; stop abandons the rest within its bound") {
  Receiver receiver([](std::size_t) { return Action{Action::hang}; });
  Loops loops(1);
  HookDispatcherOptions options = fast_options();
  options.max_queued = 5;
  options.log_drops_every = 10;
  HookDispatcher dispatcher(hooks_for(receiver.url(), 60000), options);
  dispatcher.start(loops.executors());
  for (int i = 0; i < 20; ++i)
    dispatcher.enqueue(make_event("88888888-0000-4000-8000-00000000000" + std::to_string(i % 4)));
  CHECK(dispatcher.dropped() == 15);
  CHECK(dispatcher.queued() == 5);
  REQUIRE(eventually([&] { return receiver.count() >= 4; }));  // one in flight per user, all hanging
  dispatcher.stop(100ms);
  const auto took = loops.finish();
  CHECK(took < 1000ms);
  CHECK(dispatcher.failed() == 5);
  CHECK(dispatcher.queued() == 0);
  CHECK(dispatcher.delivered() == 0);
  // After the bound, nothing more is accepted.
  dispatcher.enqueue(make_event("88888888-0000-4000-8000-000000000000"));
  CHECK(dispatcher.dropped() == 16);
}

TEST_CASE("stop lets a quick delivery finish and does not hold the loop when idle") {
  Receiver receiver;
  Loops loops(1);
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.start(loops.executors());
  dispatcher.enqueue(make_event("99999999-0000-4000-8000-000000000009"));
  dispatcher.stop(10s);
  const auto took = loops.finish();
  CHECK(took < 2000ms);  // not the 10 s bound
  CHECK(dispatcher.delivered() == 1);
}

TEST_CASE("before start, events are dropped") {
  Receiver receiver;
  HookDispatcher dispatcher(hooks_for(receiver.url()), fast_options());
  dispatcher.enqueue(make_event("aaaaaaaa-0000-4000-8000-00000000000a"));
  CHECK(dispatcher.dropped() == 1);
  CHECK(dispatcher.queued() == 0);
}
