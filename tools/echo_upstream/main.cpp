// echo-upstream: the bundled test and benchmark upstream. Every HTTP request is
// answered 200 with a JSON description of what arrived (method, path, query,
// headers in received order, body size and SHA-256); a few /_echo/ paths make
// it misbehave on purpose for doorman's tests; WebSocket upgrades are accepted
// and every message is echoed back. Bodies are hashed while they stream in and
// never held whole, so a 100 MB upload costs a 16 KiB buffer.
//
//   echo-upstream --listen 127.0.0.1:8080 [--threads N]
//
// Special paths:
//   /_echo/status/NNN   answer status NNN (200..599) with the usual JSON
//   /_echo/sleep?ms=N   wait N ms before answering (upstream timeout tests)
//   /_echo/bytes?n=N    answer N bytes of 'x', chunked (streaming tests)
//   /_echo/close        close the connection without answering
//
// Strings in the JSON are the received bytes read as Latin-1 (bytes >= 0x80
// become \u00XX), the way HTTP header octets are defined, so the output is
// always valid JSON whatever a test sends.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t body_chunk_bytes = 16 * 1024;
// Generous limits: the upstream must never be the part of a test that refuses
// a header doorman accepted.
constexpr std::uint32_t header_limit_bytes = 1024 * 1024;
// Keep-alive connections idle longer than this are closed so a crashed client
// cannot pin a coroutine forever; far above any test's or bench's pause.
constexpr auto idle_timeout = 300s;
constexpr std::string_view empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  unsigned threads = 1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "echo-upstream: %s\nusage: echo-upstream --listen HOST:PORT [--threads N]\n", why);
  std::exit(2);
}

options parse_options(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (arg == "--listen") {
      std::string_view listen = value();
      auto colon = listen.rfind(':');
      if (colon == std::string_view::npos) usage("--listen wants HOST:PORT");
      std::string_view host = listen.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      opts.host = host.empty() ? "0.0.0.0" : std::string(host);
      opts.port = std::string(listen.substr(colon + 1));
    } else if (arg == "--threads") {
      std::string_view v = value();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), opts.threads);
      if (ec != std::errc{} || p != v.data() + v.size() || opts.threads == 0)
        usage("--threads wants a positive integer");
    } else if (arg == "-h" || arg == "--help") {
      usage("help");
    } else {
      usage("unknown argument");
    }
  }
  return opts;
}

// Appends s as a JSON string literal (Latin-1 reading of the bytes, see top).
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

std::optional<unsigned long long> parse_number(std::string_view s) {
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Value of `name` in a query string "a=1&b=2"; no percent-decoding (tests
// only pass numbers).
std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// Incremental SHA-256 over one request body. The EVP context lives as long as
// the connection and is re-initialised per body, so requests allocate nothing
// here; a request without a body never touches it.
class body_hasher {
 public:
  body_hasher() : ctx_(EVP_MD_CTX_new()) {}
  ~body_hasher() { EVP_MD_CTX_free(ctx_); }
  body_hasher(const body_hasher&) = delete;
  body_hasher& operator=(const body_hasher&) = delete;

  void start() {
    size_ = 0;
    started_ = false;
  }
  void update(const char* data, std::size_t n) {
    if (n == 0) return;
    if (!started_) {
      EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
      started_ = true;
    }
    EVP_DigestUpdate(ctx_, data, n);
    size_ += n;
  }
  std::uint64_t size() const { return size_; }
  void append_hex(std::string& out) {
    if (!started_) {
      out += empty_sha256;
      return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    for (unsigned int i = 0; i < len; ++i) {
      out += hex[digest[i] >> 4];
      out += hex[digest[i] & 0xf];
    }
  }

 private:
  EVP_MD_CTX* ctx_;
  std::uint64_t size_ = 0;
  bool started_ = false;
};

// One client connection: reads requests in a loop on its own stream, buffer
// and hasher, answers each, and ends on close, error, idle timeout, or a
// WebSocket session finishing.
class session {
 public:
  explicit session(tcp::socket socket) : stream_(std::move(socket)) {
    json_.reserve(2048);
    body_buf_.resize(body_chunk_bytes);
  }

  net::awaitable<void> run() {
    for (;;) {
      parser_.emplace();
      parser_->header_limit(header_limit_bytes);
      parser_->body_limit(boost::none);
      stream_.expires_after(idle_timeout);
      auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, use_tuple);
      if (ec) break;
      auto& req = parser_->get();

      if (websocket::is_upgrade(req)) {
        co_await run_websocket();
        co_return;
      }
      std::string_view target = req.target();
      auto qpos = target.find('?');
      std::string_view path = target.substr(0, qpos);
      std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

      if (path == "/_echo/close") break;
      if (!co_await read_body()) break;

      unsigned status = 200;
      if (path.starts_with("/_echo/status/")) {
        auto code = parse_number(path.substr(14));
        status = (code && *code >= 200 && *code <= 599) ? static_cast<unsigned>(*code) : 400;
      } else if (path == "/_echo/sleep") {
        auto ms = parse_number(query_param(query, "ms")).value_or(0);
        net::steady_timer timer(stream_.get_executor());
        timer.expires_after(std::chrono::milliseconds(ms));
        co_await timer.async_wait(use_tuple);
      } else if (path == "/_echo/bytes") {
        auto n_bytes = parse_number(query_param(query, "n")).value_or(0);
        if (!co_await write_bytes(n_bytes)) break;
        if (!req.keep_alive()) break;
        continue;
      }
      if (!co_await write_echo(status, path, query)) break;
      if (!req.keep_alive()) break;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

 private:
  // Streams the request body through the hasher in fixed-size pieces.
  net::awaitable<bool> read_body() {
    hasher_.start();
    auto& req = parser_->get();
    if (parser_->is_done()) co_return true;
    // A client waiting on 100-continue (curl does so above 1 MiB) would
    // otherwise stall for a second before sending.
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [ec, n] = co_await net::async_write(stream_, net::buffer(cont.data(), cont.size()), use_tuple);
      if (ec) co_return false;
    }
    while (!parser_->is_done()) {
      req.body().data = body_buf_.data();
      req.body().size = body_buf_.size();
      stream_.expires_after(idle_timeout);
      auto [ec, n] = co_await http::async_read(stream_, buffer_, *parser_, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
      hasher_.update(body_buf_.data(), body_buf_.size() - req.body().size);
    }
    co_return true;
  }

  net::awaitable<bool> write_echo(unsigned status, std::string_view path, std::string_view query) {
    auto& req = parser_->get();
    json_.clear();
    json_ += "{\"method\":";
    append_json_string(json_, req.method_string());
    json_ += ",\"path\":";
    append_json_string(json_, path);
    json_ += ",\"query\":";
    append_json_string(json_, query);
    json_ += ",\"headers\":[";
    bool first = true;
    for (auto const& field : req) {
      if (!first) json_ += ',';
      first = false;
      json_ += '[';
      append_json_string(json_, field.name_string());
      json_ += ',';
      append_json_string(json_, field.value());
      json_ += ']';
    }
    json_ += "],\"body_size\":";
    json_ += std::to_string(hasher_.size());
    json_ += ",\"body_sha256\":\"";
    hasher_.append_hex(json_);
    json_ += "\"}";

    // 204 and 304 carry no body by definition; HEAD gets the length only.
    bool bodyless = status == 204 || status == 304;
    bool head = req.method() == http::verb::head;
    http::response<http::span_body<const char>> res{static_cast<http::status>(status), req.version()};
    // Beast has no reason phrase for codes such as 418 and would send a
    // placeholder with angle brackets; clients ignore the phrase anyway.
    if (http::obsolete_reason(res.result()) == "<unknown-status>") res.reason("Status");
    res.set(http::field::content_type, "application/json");
    if (!bodyless) {
      res.content_length(json_.size());
      if (!head) res.body() = {json_.data(), json_.size()};
    }
    res.keep_alive(req.keep_alive());
    http::response_serializer<http::span_body<const char>> sr{res};
    if (head || bodyless) sr.split(true);
    stream_.expires_after(idle_timeout);
    if (head || bodyless) {
      auto [ec, n] = co_await http::async_write_header(stream_, sr, use_tuple);
      co_return !ec;
    }
    auto [ec, n] = co_await http::async_write(stream_, sr, use_tuple);
    co_return !ec;
  }

  // Sends n bytes of 'x' in chunks (Content-Length for an HTTP/1.0 client,
  // which cannot read chunked encoding).
  net::awaitable<bool> write_bytes(std::uint64_t n) {
    auto& req = parser_->get();
    http::response<http::buffer_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/octet-stream");
    if (req.version() >= 11)
      res.chunked(true);
    else
      res.content_length(n);
    res.keep_alive(req.keep_alive());
    res.body().data = nullptr;
    res.body().more = true;
    http::response_serializer<http::buffer_body> sr{res};
    stream_.expires_after(idle_timeout);
    if (auto [ec, w] = co_await http::async_write_header(stream_, sr, use_tuple); ec) co_return false;
    std::memset(body_buf_.data(), 'x', body_buf_.size());
    while (n > 0) {
      std::size_t piece = n < body_buf_.size() ? static_cast<std::size_t>(n) : body_buf_.size();
      res.body().data = body_buf_.data();
      res.body().size = piece;
      res.body().more = true;
      stream_.expires_after(idle_timeout);
      auto [ec, w] = co_await http::async_write(stream_, sr, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
      n -= piece;
    }
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    auto [ec, w] = co_await http::async_write(stream_, sr, use_tuple);
    co_return !ec;
  }

  net::awaitable<void> run_websocket() {
    websocket::stream<beast::tcp_stream> ws{std::move(stream_)};
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    // Beast insists on a Server header in the 101; make it say who we are
    // rather than advertise the library version.
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "echo-upstream"); }));
    auto [ec] = co_await ws.async_accept(parser_->get(), use_tuple);
    if (ec) co_return;
    beast::flat_buffer message;
    for (;;) {
      auto [rec, n] = co_await ws.async_read(message, use_tuple);
      if (rec) co_return;  // closed by the peer, or broken
      ws.text(ws.got_text());
      auto [wec, w] = co_await ws.async_write(message.data(), use_tuple);
      if (wec) co_return;
      message.consume(message.size());
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::vector<char> body_buf_;
  std::string json_;
  body_hasher hasher_;
};

// The session lives in this coroutine's frame, so it lives exactly as long as
// its connection is served.
net::awaitable<void> serve(tcp::socket socket) {
  session s(std::move(socket));
  co_await s.run();
}

// Accepts on one socket and hands each connection to the next worker
// io_context in turn: an even spread even with few connections, which
// SO_REUSEPORT's hashing does not give.
net::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                 std::vector<std::unique_ptr<net::io_context>>& workers) {
  std::size_t next = 0;
  for (;;) {
    auto& target = *workers[next];
    next = (next + 1) % workers.size();
    auto [ec, socket] = co_await acceptor.async_accept(target, use_tuple);
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(target, serve(std::move(socket)), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opts = parse_options(argc, argv);

  // Worker 0 also runs the acceptor and the signal handler.
  std::vector<std::unique_ptr<net::io_context>> workers;
  for (unsigned i = 0; i < opts.threads; ++i) workers.push_back(std::make_unique<net::io_context>(1));
  auto& main_ctx = *workers[0];

  tcp::acceptor acceptor(main_ctx);
  try {
    tcp::resolver resolver(main_ctx);
    auto results =
        resolver.resolve(opts.host, opts.port, tcp::resolver::passive | tcp::resolver::numeric_service);
    tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo-upstream: cannot listen on %s:%s: %s\n", opts.host.c_str(), opts.port.c_str(),
                 e.what());
    return 1;
  }

  auto local = acceptor.local_endpoint();
  std::string shown_host =
      local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string();
  std::fprintf(stderr, "echo-upstream: listening on %s:%u\n", shown_host.c_str(),
               static_cast<unsigned>(local.port()));
  std::fflush(stderr);

  net::signal_set signals(main_ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) {
    for (auto& w : workers) w->stop();
  });

  // Keep worker contexts alive while they have no connection yet.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& w : workers) guards.push_back(net::make_work_guard(*w));

  net::co_spawn(main_ctx, accept_loop(acceptor, workers), net::detached);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < opts.threads; ++i) threads.emplace_back([&, i] { workers[i]->run(); });
  main_ctx.run();
  for (auto& w : workers) w->stop();
  for (auto& t : threads) t.join();
  return 0;
}
