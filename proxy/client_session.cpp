// One client connection (see client_session.hpp): the request loop, the auth API
// path, the authenticate -> decide -> forward path, the upstream exchange with its
// one retry on a stale pooled connection, and the per-request log and metrics.
#include "proxy/client_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/status.hpp>

#include <charconv>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/access_log.hpp"
#include "proxy/blocking_pool.hpp"
#include "proxy/header_arena.hpp"
#include "proxy/identity_headers.hpp"
#include "proxy/metrics.hpp"
#include "proxy/path_normalizer.hpp"
#include "proxy/relay.hpp"
#include "proxy/request_authenticator.hpp"
#include "proxy/socket_reads.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/websocket_tunnel.hpp"
#include "proxy/worker.hpp"

namespace doorman::proxy {

namespace beast = boost::beast;
using namespace std::string_view_literals;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// Upstream response headers are not the client's to bound; this only stops a runaway.
constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;
// Room for the largest allowed header plus one full socket read behind it.
constexpr std::size_t kReadAhead = 64 * 1024;
// Reserved per connection: Beast reads at most the free capacity (512 bytes for an
// empty buffer), which would take several reads for an ordinary request header.
constexpr std::size_t kInitialReadCapacity = 4 * 1024;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": "sv).append(value).append("\r\n"sv);
}

void append_status_line(std::string& out, int status, std::string_view reason) {
  out.append("HTTP/1.1 "sv);
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  if (reason.empty()) reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason).append("\r\n"sv);
}

// Folded tokens of every Connection header of a message, into `tokens`.
template <class Fields>
void collect_connection_tokens(const Fields& fields, std::vector<std::string>& tokens) {
  tokens.clear();
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    std::string_view value = it->value();
    while (!value.empty()) {
      const auto comma = value.find(',');
      auto token = value.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      // "keep-alive", "close" and "upgrade" only name headers that are dropped or
      // re-set anyway; skipping them keeps the common case allocation-free.
      if (!token.empty() && !iequals(token, "keep-alive") && !iequals(token, "close") &&
          !iequals(token, "upgrade")) {
        tokens.push_back(fold_header_name(token));
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
}

// True when `name`, folded ('_' as '-', any case), is one of `folded_tokens`.
bool has_token(const std::vector<std::string>& folded_tokens, std::string_view name) {
  for (const auto& token : folded_tokens) {
    if (token.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) {
      char c = name[i] == '_' ? '-' : name[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == token[i];
    }
    if (same) return true;
  }
  return false;
}

// RFC 3986 unreserved characters stay; everything else is %XX.
std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string client_address_of(const tcp::socket& socket) {
  error_code ec;
  auto address = socket.remote_endpoint(ec).address();
  if (ec) return "unknown";
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::header_limit).category();
}

void close_socket(tcp::socket& socket) {
  error_code ignored;
  socket.close(ignored);
}

// The fields of a request the session looks at, found in one pass over the
// header: each Beast find() or count() is a case-insensitive tree search.
struct RequestFields {
  std::size_t content_lengths = 0;
  std::size_t transfer_encodings = 0;
  std::size_t cookies = 0;
  bool has_connection = false;
  std::string_view content_length;  // the last one
  std::string_view connection;      // the first one, as Beast's keep_alive() reads it
  std::string_view authorization;   // the first one
  std::string_view cookie;          // the first one
  std::string_view expect;          // the first one
  std::string_view upgrade;         // the first one
  bool expects_continue() const { return iequals(expect, "100-continue"); }
};

template <class Fields>
RequestFields scan_fields(const Fields& request) {
  RequestFields found;
  auto first = [](std::string_view& slot, std::string_view value) {
    if (slot.data() == nullptr) slot = value;
  };
  for (const auto& field : request) {
    switch (field.name()) {
      case http::field::content_length:
        ++found.content_lengths;
        found.content_length = field.value();
        break;
      case http::field::transfer_encoding:
        ++found.transfer_encodings;
        break;
      case http::field::connection:
        if (!found.has_connection) found.connection = field.value();
        found.has_connection = true;
        break;
      case http::field::authorization:
        first(found.authorization, field.value());
        break;
      case http::field::cookie:
        if (found.cookies++ == 0) found.cookie = field.value();
        break;
      case http::field::expect:
        first(found.expect, field.value());
        break;
      case http::field::upgrade:
        first(found.upgrade, field.value());
        break;
      default:
        break;
    }
  }
  return found;
}

// Beast's message::keep_alive(), from the first Connection header found by scan_fields.
bool keep_alive(const RequestFields& fields, unsigned version) {
  if (version < 11) return fields.has_connection && http::token_list{fields.connection}.exists("keep-alive");
  return !fields.has_connection || !http::token_list{fields.connection}.exists("close");
}

// What the access log and metrics need of one request.
struct RequestRecord {
  Clock::time_point start;
  std::chrono::system_clock::time_point wall;
  std::string_view method;
  std::string path;
  int status = 0;
  RouteClass route_class = RouteClass::rejected;
  std::optional<double> upstream_ms;
};

class ClientSession final : public SessionBase {
 public:
  ClientSession(Worker& worker, tcp::socket socket)
      : worker_(worker),
        runtime_(worker.runtime()),
        settings_(worker.settings()),
        client_(std::move(socket)),
        buffer_(worker.settings().max_header_bytes + kReadAhead) {
    buffer_.reserve(kInitialReadCapacity);
    worker_.add_session(*this);
  }

  ~ClientSession() { drop_upstream(); }

  asio::awaitable<void> run();

  void expire() override {
    timed_out_ = true;
    // Waiting on the upstream: close only that side, so the client still gets a 504.
    if (phase_ == Phase::connecting || phase_ == Phase::awaiting_response) {
      if (upstream_) close_socket(upstream_->socket);
      return;
    }
    abort();
  }

  void drain() override {
    if (phase_ == Phase::idle) close_socket(client_);
  }

  void abort() override {
    if (upstream_) close_socket(upstream_->socket);
    close_socket(client_);
  }

 private:
  enum class Phase { idle, reading_header, handling, connecting, awaiting_response, relaying, tunnel };
  // What a step of a request left to do. The steps run one after another from
  // run(), not nested: Asio recycles the frames of coroutines that do not
  // overlap, so a request then allocates none.
  enum class Next { close, keep_alive, authorize, forward };
  static Next answered(bool keep_alive) { return keep_alive ? Next::keep_alive : Next::close; }

  asio::awaitable<bool> wait_for_request(bool first);
  asio::awaitable<Next> handle_request();
  asio::awaitable<bool> answer_route(const routes::RouteMatch& match, const NormalizedTarget& target);
  asio::awaitable<Next> authorize();
  asio::awaitable<bool> forward();
  asio::awaitable<bool> relay_response(bool websocket);
  // relay_response's common case, without suspending (see Relayed).
  enum class Relayed { done, finish_write, not_taken };
  Relayed relay_response_now(bool websocket, bool& keep_alive);
  asio::awaitable<bool> write_answer(const authcore::HttpAnswer& answer, bool keep_alive);
  asio::awaitable<bool> answer_detail(int status, std::string_view detail, bool keep_alive);
  asio::awaitable<std::optional<std::string>> read_bounded_body();

  void build_upstream_request(const NormalizedTarget& target, const authcore::User* user, bool websocket);
  void build_response_head(bool& body_expected, Framing& framing);
  authcore::RequestCredentials credentials();
  // Keep-alive is possible only when the request was read to its end.
  bool can_keep_alive() const { return request_keep_alive_ && parser_->is_done() && !worker_.draining(); }
  void finish_request();
  void drop_upstream() {
    if (upstream_) close_socket(upstream_->socket);
    upstream_.reset();
  }

  Worker& worker_;
  Runtime& runtime_;
  const SessionSettings& settings_;
  tcp::socket client_;
  beast::flat_buffer buffer_;
  HeaderArena request_arena_;   // parser_'s fields
  HeaderArena response_arena_;  // response_parser_'s fields
  std::optional<RequestParser> parser_;
  std::optional<ResponseParser> response_parser_;
  RequestFields fields_;       // of parser_'s request
  NormalizedTarget target_;    // of parser_'s request: what the rules see and what is forwarded
  bool websocket_ = false;     // parser_'s request asks for a WebSocket upgrade
  GatherWrite pending_write_;  // what relay_response_now() left for forward() to send
  UpstreamConnectionPtr upstream_;
  RelayBuffer relay_buffer_;
  std::string request_head_;   // serialized upstream request header
  std::string response_head_;  // serialized client response header (or whole answer)
  std::string joined_cookies_;
  std::vector<std::string> connection_tokens_;
  std::string client_address_;
  // The request policies of the current request: taken from the worker at the
  // start of each proxied request, so a reload never changes a request midway.
  PolicySnapshotPtr policies_;
  bool trusted_proxy_ = false;  // under policies_' trusted_proxies
  bool request_keep_alive_ = true;
  bool client_http11_ = true;
  bool head_request_ = false;
  bool timed_out_ = false;
  Phase phase_ = Phase::idle;
  authcore::AuthOutcome auth_;
  RequestRecord record_;
};

asio::awaitable<void> ClientSession::run() {
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  client_address_ = client_address_of(client_);

  for (bool first = true;; first = false) {
    if (!co_await wait_for_request(first)) break;
    bool keep_alive = false;
    bool failed = false;
    try {
      Next next = co_await handle_request();
      if (next == Next::authorize) next = co_await authorize();
      if (next == Next::forward) next = answered(co_await forward());
      keep_alive = next == Next::keep_alive;
    } catch (const std::exception& e) {
      std::cerr << "doorman: request failed: " << e.what() << std::endl;
      failed = true;
    }
    if (failed) {
      // Fail closed: never forwarded, never half-answered.
      drop_upstream();
      if (record_.status == 0 && client_.is_open()) {
        co_await answer_detail(500, "Internal Server Error", false);
      }
      keep_alive = false;
    }
    finish_request();
    if (!keep_alive || !client_.is_open()) break;
  }
  drop_upstream();
  if (client_.is_open()) {
    // Half-close first so a response still in flight is not cut by a reset.
    client_.shutdown(tcp::socket::shutdown_send, ignored);
    client_.close(ignored);
  }
}

// Waits for the next request header within the idle and header deadlines.
// false: the connection is over (closed, timed out, or answered 400/431).
asio::awaitable<bool> ClientSession::wait_for_request(bool first) {
  phase_ = Phase::idle;
  if (worker_.draining()) co_return false;
  if (buffer_.size() == 0 && !first) {
    // Between requests the idle timeout applies until a byte arrives.
    // (A read, not async_wait: waiting for readability costs an epoll_ctl each time.)
    deadline_.after(settings_.idle_timeout);
    const ReadSome first_bytes = co_await read_some(client_, buffer_, ShortRead::keep_unmarked);
    if (first_bytes.ec || worker_.draining()) co_return false;
  }
  phase_ = Phase::reading_header;
  timed_out_ = false;
  deadline_.after(settings_.header_timeout);
  emplace_parser(parser_, request_arena_);
  parser_->header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
  parser_->body_limit(boost::none);
  record_ = RequestRecord{};
  // The header has usually arrived whole by now: take it without an event loop pass.
  error_code ec;
  if (!read_header_now(client_, buffer_, *parser_, ec)) {
    ec = co_await read_header(client_, buffer_, *parser_);
  }
  record_.start = Clock::now();
  record_.wall = std::chrono::system_clock::now();
  if (!ec) co_return true;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || !is_http_parse_error(ec)) {
    // Closed, reset, timed out (a slow header is just closed), or cut mid-header.
    co_return false;
  }
  request_keep_alive_ = false;
  if (ec == http::error::header_limit) {
    co_await answer_detail(431, "Request Header Fields Too Large", false);
  } else {
    co_await answer_detail(400, "Bad Request", false);
  }
  finish_request();
  co_return false;
}

authcore::RequestCredentials ClientSession::credentials() {
  authcore::RequestCredentials credentials;
  credentials.authorization = fields_.authorization;
  if (fields_.cookies == 1) {
    credentials.cookie = fields_.cookie;
  } else if (fields_.cookies > 1) {
    // Several Cookie headers (HTTP/2 gateways split them): one joined view for the transports.
    joined_cookies_.clear();
    for (const auto& field : parser_->get()) {
      if (field.name() != http::field::cookie) continue;
      if (!joined_cookies_.empty()) joined_cookies_.append("; "sv);
      joined_cookies_.append(field.value());
    }
    credentials.cookie = joined_cookies_;
  }
  return credentials;
}

asio::awaitable<ClientSession::Next> ClientSession::handle_request() {
  phase_ = Phase::handling;
  auto& request = parser_->get();
  fields_ = scan_fields(request);
  record_.method = request.method_string();
  request_keep_alive_ = keep_alive(fields_, request.version());
  client_http11_ = request.version() >= 11;
  head_request_ = request.method() == http::verb::head;
  auth_ = authcore::AuthOutcome{};

  // Smuggling shapes Beast lets through: a Transfer-Encoding that is not exactly
  // "chunked" last, Transfer-Encoding next to Content-Length, repeated Content-Length.
  const auto content_lengths = fields_.content_lengths;
  const auto transfer_encodings = fields_.transfer_encodings;
  bool bad_framing = content_lengths > 1 || transfer_encodings > 1 ||
                     (transfer_encodings == 1 && (content_lengths != 0 || !parser_->chunked()));
  if (content_lengths == 1 && fields_.content_length.find(',') != std::string_view::npos) {
    bad_framing = true;
  }
  if (bad_framing) {
    record_.path = std::string(request.target());
    co_return answered(co_await answer_detail(400, "Bad Request", false));
  }

  auto target = normalize_target(request.target());
  if (!target) {
    record_.path = std::string(request.target());
    co_return answered(co_await answer_detail(400, "Bad Request", false));
  }
  target_ = std::move(*target);
  record_.path = target_.path;

  const auto match = runtime_.auth_api->match(record_.method, target_.path);
  if (match.kind != routes::RouteMatch::Kind::none) {
    record_.route_class = RouteClass::auth_api;
    co_return answered(co_await answer_route(match, target_));
  }
  record_.route_class = RouteClass::proxied;
  co_return Next::authorize;
}

// Reads an auth API body up to server.max_body_bytes; nullopt after answering 413
// (or when the client went away).
asio::awaitable<std::optional<std::string>> ClientSession::read_bounded_body() {
  std::string body;
  if (parser_->is_done()) co_return body;
  if (auto length = parser_->content_length(); length && *length > settings_.max_body_bytes) {
    request_keep_alive_ = false;
    co_await answer_detail(413, "Request Entity Too Large", false);
    co_return std::nullopt;
  }
  if (fields_.expects_continue() && client_http11_) {
    if (co_await write_all(client_, kContinue, deadline_, settings_.idle_timeout)) co_return std::nullopt;
  }
  char* data = relay_buffer_.data();
  while (!parser_->is_done()) {
    auto& piece = parser_->get().body();
    piece.data = data;
    piece.size = RelayBuffer::kSize;
    deadline_.after(settings_.idle_timeout);
    auto ec = co_await read_message_some(client_, buffer_, *parser_);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      if (is_http_parse_error(ec) && client_.is_open()) {
        request_keep_alive_ = false;
        co_await answer_detail(400, "Bad Request", false);
      }
      co_return std::nullopt;
    }
    const std::size_t got = RelayBuffer::kSize - piece.size;
    if (body.size() + got > settings_.max_body_bytes) {
      request_keep_alive_ = false;
      co_await answer_detail(413, "Request Entity Too Large", false);
      co_return std::nullopt;
    }
    body.append(data, got);
  }
  co_return body;
}

asio::awaitable<bool> ClientSession::answer_route(const routes::RouteMatch& match,
                                                  const NormalizedTarget& target) {
  if (match.kind != routes::RouteMatch::Kind::route) {
    // 405 / 307: nothing blocking; the body (if any) is left unread, so keep-alive may end.
    const auto answer = runtime_.auth_api->answer_non_route(match, target.query);
    co_return co_await write_answer(answer, can_keep_alive());
  }
  auto body = co_await read_bounded_body();
  if (!body) co_return false;

  const auto& request = parser_->get();
  routes::ApiRequest api;
  api.method = std::string(request.method_string());
  api.path = target.path;
  api.query = target.query;
  if (auto it = request.find(http::field::content_type); it != request.end()) api.content_type = it->value();
  api.credentials = credentials();
  api.body = std::move(*body);

  phase_ = Phase::handling;
  deadline_.clear();  // the blocking pool bounds its own work (database timeouts)
  auto& auth_api = *runtime_.auth_api;
  const auto answer = co_await run_blocking(
      worker_.pools().auth_api, [&auth_api, &match, &api] { return auth_api.handle(match, api); });
  co_return co_await write_answer(answer, can_keep_alive());
}

// Authenticates and applies the access rules: Next::forward, or the refusal is answered.
asio::awaitable<ClientSession::Next> ClientSession::authorize() {
  const auto& target = target_;
  const auto& request = parser_->get();
  const auto method = request.method_string();
  const auto creds = credentials();
  if (const auto& current = worker_.policies(); current != policies_) {
    policies_ = current;
    trusted_proxy_ = policies_->headers->is_trusted_proxy(client_address_);
  }

  if (auto quick = runtime_.authenticator->try_authenticate_without_blocking(creds)) {
    auth_ = std::move(*quick);
  } else {
    deadline_.clear();  // Redis reads and the blocking pool bound their own waits
    auth_ = co_await authenticate_request(worker_, creds);
  }

  const authcore::User* user = nullptr;
  AuthResult result = AuthResult::no_user;
  if (auth_.status == authcore::AuthStatus::authenticated && auth_.user) {
    if (auth_.user->is_active) {
      user = &*auth_.user;
      result = AuthResult::authenticated;
    } else {
      result = AuthResult::inactive;
    }
  } else if (auth_.status == authcore::AuthStatus::unavailable) {
    result = AuthResult::unavailable;
  }
  metrics().count_auth(
      result == AuthResult::authenticated || result == AuthResult::inactive ? auth_.backend_index : -1,
      result);

  const auto& policy = *policies_->access;
  if (auth_.status == authcore::AuthStatus::unavailable) {
    const auto level = policy.required_level(method, target.path);
    if (level != config::AccessLevel::anonymous && level != config::AccessLevel::deny) {
      co_return answered(co_await answer_detail(503, "Service Unavailable", can_keep_alive()));
    }
  }

  const auto decision = policy.decide(method, target.path, user);
  switch (decision.verdict) {
    case AccessVerdict::forward:
      break;
    case AccessVerdict::forbidden:
      co_return answered(co_await answer_detail(403, "Forbidden", can_keep_alive()));
    case AccessVerdict::unauthenticated: {
      const auto& answer = policies_->config->access.unauthenticated;
      if (!answer.redirect) co_return answered(co_await answer_detail(401, "Unauthorized", can_keep_alive()));
      std::string location = *answer.redirect;
      const auto encoded = url_encode(target.target());  // the path the rules decided on
      for (auto at = location.find("{path}"); at != std::string::npos; at = location.find("{path}", at)) {
        location.replace(at, 6, encoded);
        at += encoded.size();
      }
      authcore::HttpAnswer redirect;
      redirect.status = answer.status >= 300 && answer.status < 400 ? answer.status : 302;
      redirect.headers.emplace_back("Location", std::move(location));
      redirect.has_body = false;
      co_return answered(co_await write_answer(redirect, can_keep_alive()));
    }
  }

  websocket_ = parser_->upgrade() && iequals(fields_.upgrade, "websocket");
  co_return Next::forward;
}

void ClientSession::build_upstream_request(const NormalizedTarget& target, const authcore::User* user,
                                           bool websocket) {
  const auto& request = parser_->get();
  const auto& headers = *policies_->headers;
  const bool forward_credentials = headers.forward_credentials();
  if (fields_.has_connection) {
    collect_connection_tokens(request, connection_tokens_);
  } else {
    connection_tokens_.clear();
  }

  auto& out = request_head_;
  out.clear();
  out.append(request.method_string()).push_back(' ');
  out.append(target.path);
  if (target.has_query) out.append("?"sv).append(target.query);
  out.append(" HTTP/1.1\r\n"sv);

  std::string_view host;
  std::string_view prior_forwarded_for;
  std::string joined_forwarded_for;
  std::string_view forwarded_proto;
  std::string_view forwarded_host;
  for (const auto& field : request) {
    switch (field.name()) {
      case http::field::content_length:
      case http::field::transfer_encoding:
      case http::field::expect:  // doorman answers 100-continue itself
        continue;                // doorman frames the upstream message
      case http::field::host:
        host = field.value();
        break;
      case http::field::authorization:
        if (!forward_credentials) continue;
        break;
      case http::field::cookie:
        if (!forward_credentials) {
          const auto rest = strip_cookies(field.value(), settings_.cookie_names);
          if (!rest.empty()) append_header(out, field.name_string(), rest);
          continue;
        }
        break;
      default:
        break;
    }
    const auto name = field.name_string();
    // X-Forwarded-For/-Proto/-Host are rewritten below, from a trusted proxy's values.
    if (iequals(name, "x-forwarded-for")) {
      if (prior_forwarded_for.empty()) {
        prior_forwarded_for = field.value();
      } else {
        if (joined_forwarded_for.empty()) joined_forwarded_for = std::string(prior_forwarded_for);
        joined_forwarded_for.append(", "sv).append(field.value());
        prior_forwarded_for = joined_forwarded_for;
      }
      continue;
    }
    if (iequals(name, "x-forwarded-proto")) {
      forwarded_proto = field.value();
      continue;
    }
    if (iequals(name, "x-forwarded-host")) {
      forwarded_host = field.value();
      continue;
    }
    if (headers.drop_request_header(name, connection_tokens_, trusted_proxy_)) continue;
    out.append(name).append(": "sv).append(field.value()).append("\r\n"sv);
  }
  if (host.empty()) append_header(out, "Host", settings_.upstream_host);

  out.append(worker_.identity_headers().lines_for(headers, user));  // serialized once per user and worker
  append_header(out, "X-Forwarded-For",
                headers.forwarded_for(prior_forwarded_for, client_address_, trusted_proxy_));
  append_header(out, "X-Forwarded-Proto",
                trusted_proxy_ && !forwarded_proto.empty() ? forwarded_proto : "http");
  if (trusted_proxy_ && !forwarded_host.empty()) {
    append_header(out, "X-Forwarded-Host", forwarded_host);
  } else if (!host.empty()) {
    append_header(out, "X-Forwarded-Host", host);
  }
  if (websocket) {
    out.append("Connection: Upgrade\r\n"sv);
    append_header(out, "Upgrade", fields_.upgrade);
  }
  if (!parser_->is_done() || parser_->content_length()) {
    if (parser_->chunked()) {
      out.append("Transfer-Encoding: chunked\r\n"sv);
    } else {
      out.append("Content-Length: "sv);
      append_number(out, parser_->content_length().value_or(0));
      out.append("\r\n"sv);
    }
  }
  out.append("\r\n"sv);
}

asio::awaitable<bool> ClientSession::forward() {
  const bool websocket = websocket_;
  // authorize() let the request through: an inactive user carries no identity.
  const bool active =
      auth_.status == authcore::AuthStatus::authenticated && auth_.user && auth_.user->is_active;
  const authcore::User* user = active ? &*auth_.user : nullptr;
  build_upstream_request(target_, user, websocket);
  const bool has_body = !parser_->is_done();
  const Framing request_framing =
      !has_body ? Framing::none : (parser_->chunked() ? Framing::chunked : Framing::content_length);
  auto& pool = worker_.upstream();
  const auto upstream_start = Clock::now();
  bool continue_sent = false;

  for (int attempt = 0;; ++attempt) {
    // A retry only ever uses a fresh connection.
    bool reused = false;
    if (attempt == 0) {
      upstream_ = pool.take_idle(Clock::now());
      // A request body cannot be replayed: check the pooled connection first.
      if (upstream_ && has_body && peer_closed(upstream_->socket)) drop_upstream();
      reused = upstream_ != nullptr;
    }
    if (!upstream_) {
      upstream_ = pool.make_connection();
      phase_ = Phase::connecting;
      timed_out_ = false;
      deadline_.after(settings_.connect_timeout);
      const auto ec = co_await pool.connect(*upstream_);
      if (ec) {
        const bool timed_out = timed_out_;
        drop_upstream();
        if (timed_out) co_return co_await answer_detail(504, "Gateway Timeout", can_keep_alive());
        co_return co_await answer_detail(502, "Bad Gateway", can_keep_alive());
      }
    }

    phase_ = Phase::relaying;
    error_code write_ec;
    GatherWrite head;
    head.add(request_head_);
    if (!head.send_now(upstream_->socket, deadline_, settings_.response_timeout, write_ec)) {
      write_ec = co_await head.finish(upstream_->socket);
    }
    if (write_ec) {
      drop_upstream();
      if (reused) continue;  // nothing of the body is read yet: safe to replay on a fresh connection
      co_return co_await answer_detail(502, "Bad Gateway", can_keep_alive());
    }
    ++upstream_->requests;

    if (has_body) {
      if (!continue_sent && client_http11_) {
        if (fields_.expects_continue()) {
          continue_sent = true;
          if (co_await write_all(client_, kContinue, deadline_, settings_.idle_timeout)) co_return false;
        }
      }
      const auto relayed = co_await relay_body<true>(*parser_, client_, buffer_, upstream_->socket,
                                                     request_framing, {}, relay_buffer_, deadline_,
                                                     {settings_.idle_timeout, settings_.response_timeout});
      if (relayed.read_failed) {
        // The client stopped sending (or sent a bad chunk): nothing sensible reaches the upstream.
        drop_upstream();
        if (is_http_parse_error(relayed.ec) && client_.is_open()) {
          request_keep_alive_ = false;
          co_await answer_detail(400, "Bad Request", false);
        }
        co_return false;
      }
      if (relayed.write_failed) {
        drop_upstream();
        request_keep_alive_ = false;
        co_return co_await answer_detail(502, "Bad Gateway", false);
      }
    }

    phase_ = Phase::awaiting_response;
    timed_out_ = false;
    deadline_.after(settings_.response_timeout);
    error_code ec;
    for (;;) {
      emplace_parser(response_parser_, response_arena_);
      response_parser_->header_limit(kUpstreamHeaderLimit);
      response_parser_->body_limit(boost::none);
      if (head_request_) response_parser_->skip(true);
      ec = co_await read_header(upstream_->socket, upstream_->buffer, *response_parser_);
      if (ec) break;
      const int status = response_parser_->get().result_int();
      // Interim answers (100, 102, 103) are the upstream's business; 101 ends the exchange.
      if (status >= 200 || status == 101) break;
    }
    if (ec) {
      const bool timed_out = timed_out_;
      const bool nothing_received = upstream_->buffer.size() == 0 && !response_parser_->got_some();
      drop_upstream();
      if (timed_out) co_return co_await answer_detail(504, "Gateway Timeout", can_keep_alive());
      // A pooled connection the upstream closed while idle: the request never ran there.
      if (reused && !has_body && nothing_received) continue;
      co_return co_await answer_detail(502, "Bad Gateway", can_keep_alive());
    }
    break;
  }
  record_.upstream_ms = std::chrono::duration<double, std::milli>(Clock::now() - upstream_start).count();
  metrics().observe_upstream_latency(Clock::now() - upstream_start);
  bool keep_alive = false;
  switch (relay_response_now(websocket, keep_alive)) {
    case Relayed::done:
      co_return keep_alive;
    case Relayed::finish_write:
      if (co_await pending_write_.finish(client_)) co_return false;
      co_return keep_alive;
    case Relayed::not_taken:
      break;
  }
  co_return co_await relay_response(websocket);
}

// Serializes the upstream response header for the client: hop-by-hop headers go,
// framing is re-decided for this client.
void ClientSession::build_response_head(bool& body_expected, Framing& framing) {
  const auto& response = response_parser_->get();
  const int status = response.result_int();
  const bool switching = status == 101;
  collect_connection_tokens(response, connection_tokens_);

  auto& out = response_head_;
  out.clear();
  append_status_line(out, status, response.reason());
  for (const auto& field : response) {
    switch (field.name()) {
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::transfer_encoding:
      case http::field::te:
      case http::field::trailer:
        continue;
      case http::field::content_length:
        // Re-emitted below for a framed body; kept verbatim for HEAD and 304, which describe one.
        if (head_request_ || status == 304) break;
        continue;
      case http::field::upgrade:
        if (!switching) continue;
        break;
      default:
        if (!connection_tokens_.empty() && has_token(connection_tokens_, field.name_string())) {
          continue;
        }
        break;
    }
    out.append(field.name_string()).append(": "sv).append(field.value()).append("\r\n"sv);
  }

  body_expected = !response_parser_->is_done();
  if (switching) {
    out.append("Connection: Upgrade\r\n\r\n"sv);
    framing = Framing::none;
    return;
  }
  if (!body_expected) {
    framing = Framing::none;
    // A 1xx/204/304 or HEAD answer carries no framing of its own.
    if (!head_request_ && status != 204 && status != 304 && status >= 200)
      out.append("Content-Length: 0\r\n"sv);
  } else if (!response_parser_->chunked() && response_parser_->content_length()) {
    framing = Framing::content_length;
    out.append("Content-Length: "sv);
    append_number(out, *response_parser_->content_length());
    out.append("\r\n"sv);
  } else if (client_http11_) {
    framing = Framing::chunked;
    out.append("Transfer-Encoding: chunked\r\n"sv);
  } else {
    framing = Framing::until_close;  // an HTTP/1.0 client reads to the end
    request_keep_alive_ = false;
  }
  if (!can_keep_alive()) {
    out.append("Connection: close\r\n"sv);
  } else if (!client_http11_) {
    out.append("Connection: keep-alive\r\n"sv);
  }
  out.append("\r\n"sv);
}

asio::awaitable<bool> ClientSession::relay_response(bool websocket) {
  bool body_expected = false;
  Framing framing = Framing::none;
  build_response_head(body_expected, framing);
  const int status = response_parser_->get().result_int();
  record_.status = status;
  phase_ = Phase::relaying;

  if (status == 101) {
    if (!websocket) {
      // An upgrade doorman did not ask for: the connection is no longer HTTP.
      drop_upstream();
      record_.status = 502;
      co_return co_await answer_detail(502, "Bad Gateway", false);
    }
    if (co_await write_all(client_, response_head_, deadline_, settings_.idle_timeout)) co_return false;
    phase_ = Phase::tunnel;
    deadline_.clear();
    finish_request();  // the log line is written when the tunnel opens, not when it ends
    auto connection = std::move(upstream_);
    co_await run_websocket_tunnel(client_, buffer_, connection->socket, connection->buffer);
    close_socket(connection->socket);
    co_return false;
  }

  bool upstream_reusable = response_parser_->get().keep_alive() && !response_parser_->need_eof();
  if (!body_expected) {
    error_code ec;
    GatherWrite head;
    head.add(response_head_);
    if (!head.send_now(client_, deadline_, settings_.idle_timeout, ec)) ec = co_await head.finish(client_);
    if (ec) {
      drop_upstream();
      co_return false;
    }
  } else {
    const auto relayed = co_await relay_body<false>(
        *response_parser_, upstream_->socket, upstream_->buffer, client_, framing, response_head_,
        relay_buffer_, deadline_, {settings_.response_timeout, settings_.idle_timeout});
    if (relayed.ec) {
      // The response is cut: the client must see the connection end, not a short body.
      drop_upstream();
      co_return false;
    }
    if (framing == Framing::until_close) upstream_reusable = false;
  }
  if (upstream_reusable && response_parser_->is_done()) {
    worker_.upstream().give_back(std::move(upstream_), Clock::now());
  } else {
    drop_upstream();
  }
  co_return can_keep_alive();
}

// A response without a body, or whose body came whole with its header (nearly
// every response), goes out in one direct write; only a remainder the client's
// socket did not take is left in pending_write_ (finish_write). not_taken: an
// upgrade or a streamed body, nothing done yet: relay_response() does it all.
ClientSession::Relayed ClientSession::relay_response_now(bool websocket, bool& keep_alive) {
  const auto& response = response_parser_->get();
  const int status = response.result_int();
  if (status == 101 || websocket) return Relayed::not_taken;
  if (!response_parser_->is_done() && !body_is_buffered(*response_parser_, upstream_->buffer)) {
    return Relayed::not_taken;
  }
  bool body_expected = false;
  Framing framing = Framing::none;
  build_response_head(body_expected, framing);
  record_.status = status;
  phase_ = Phase::relaying;
  const bool upstream_reusable = response.keep_alive() && !response_parser_->need_eof();

  pending_write_ = GatherWrite{};
  error_code ec;
  if (!body_expected) {
    pending_write_.add(response_head_);
    pending_write_.send_now(client_, deadline_, settings_.idle_timeout, ec);
  } else {
    RelayResult relayed;
    // body_is_buffered() held, so this takes it (and the framing is content_length).
    if (!relay_buffered_body<false>(*response_parser_, upstream_->buffer, client_, framing, response_head_,
                                    relay_buffer_, deadline_, settings_.idle_timeout, relayed,
                                    pending_write_)) {
      relayed.ec = make_error_code(http::error::partial_message);
    }
    ec = relayed.ec;
  }
  if (ec) {
    // The response is cut: the client must see the connection end, not a short body.
    pending_write_ = GatherWrite{};
    drop_upstream();
    keep_alive = false;
    return Relayed::done;
  }
  // The upstream's side is complete even while the client's write is pending.
  if (upstream_reusable && response_parser_->is_done()) {
    worker_.upstream().give_back(std::move(upstream_), Clock::now());
  } else {
    drop_upstream();
  }
  keep_alive = can_keep_alive();
  return pending_write_.empty() ? Relayed::done : Relayed::finish_write;
}

asio::awaitable<bool> ClientSession::write_answer(const authcore::HttpAnswer& answer, bool keep_alive) {
  record_.status = answer.status;
  auto& out = response_head_;
  out.clear();
  append_status_line(out, answer.status, {});
  bool has_content_type = false;
  for (const auto& [name, value] : answer.headers) {
    if (iequals(name, "content-type")) has_content_type = true;
    append_header(out, name, value);
  }
  const bool has_body = answer.has_body && answer.status != 204 && answer.status != 304;
  if (has_body) {
    if (!has_content_type) out.append("Content-Type: application/json\r\n"sv);
    out.append("Content-Length: "sv);
    append_number(out, answer.body.size());
    out.append("\r\n"sv);
  } else if (answer.status >= 200 && answer.status != 204 && answer.status != 304) {
    // A bodiless 307/302 still needs framing, or a keep-alive client waits for the close.
    out.append("Content-Length: 0\r\n"sv);
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n"sv);
  } else if (!client_http11_) {
    out.append("Connection: keep-alive\r\n"sv);
  }
  out.append("\r\n"sv);
  if (has_body && !head_request_) out.append(answer.body);
  phase_ = Phase::relaying;
  error_code ec;
  GatherWrite whole;
  whole.add(out);
  if (!whole.send_now(client_, deadline_, settings_.idle_timeout, ec)) ec = co_await whole.finish(client_);
  if (ec) co_return false;
  co_return keep_alive;
}

asio::awaitable<bool> ClientSession::answer_detail(int status, std::string_view detail, bool keep_alive) {
  authcore::HttpAnswer answer;
  answer.status = status;
  answer.body.reserve(detail.size() + 13);
  answer.body.append("{\"detail\":\""sv).append(detail).append("\"}"sv);
  co_return co_await write_answer(answer, keep_alive);
}

// One access log line and the request metrics, once per request.
void ClientSession::finish_request() {
  if (record_.status == 0 && record_.method.empty()) return;  // no request was read
  // Read but never answered: the client left or stalled (nginx's 499).
  if (record_.status == 0) record_.status = 499;
  metrics().count_request(record_.route_class, record_.status);
  if (settings_.access_log) {
    AccessLogEntry entry;
    entry.time = record_.wall;
    entry.method = record_.method;
    entry.path = record_.path;
    entry.status = record_.status;
    if (auth_.user && auth_.user->is_active) entry.user_id = auth_.user->id;
    const auto& backends = runtime_.authenticator->backends();
    if (auth_.user && auth_.backend_index >= 0 &&
        static_cast<std::size_t>(auth_.backend_index) < backends.size()) {
      entry.backend = backends[static_cast<std::size_t>(auth_.backend_index)].name;
    }
    entry.upstream_ms = record_.upstream_ms;
    entry.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - record_.start).count();
    entry.client = client_address_;
    worker_.log_line(format_access_log(entry));
  }
  record_.status = 0;
  record_.method = {};
}

}  // namespace

asio::awaitable<void> serve_client(Worker& worker, tcp::socket socket) {
  ClientSession session(worker, std::move(socket));
  co_await session.run();
}

}  // namespace doorman::proxy
