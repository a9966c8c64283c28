// The outbound HTTP/1.1 client; see outbound_http.hpp. One exchange at a time
// per connection; the caller (a hook delivery lane) serializes its posts.
#include "proxy/outbound_http.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "config/net_parse.hpp"

namespace doorman::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  return ec.message();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string parse_outbound_url(std::string_view url, OutboundTarget& out) {
  config::HttpUrl parsed;
  if (std::string err = config::parse_http_url(url, parsed, true); !err.empty()) return err;
  if (parsed.scheme != "http") return "https is not supported yet for outbound requests";
  out.host = parsed.endpoint.host;
  out.port = parsed.endpoint.port;
  out.target = parsed.target.empty() ? "/" : parsed.target;
  const bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = v6 ? "[" + out.host + "]" : out.host;
  if (out.port != 80) out.host_header += ":" + std::to_string(out.port);
  return {};
}

OutboundConnection::OutboundConnection(asio::any_io_executor executor)
    : resolver_(executor), stream_(executor) {}

void OutboundConnection::close() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  open_ = false;
}

void OutboundConnection::cancel() {
  cancelled_ = true;
  resolver_.cancel();
  close();
}

asio::awaitable<OutboundResult> OutboundConnection::post(
    const OutboundTarget& target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::steady_clock::duration timeout) {
  cancelled_ = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Serialized once, so a reconnect sends exactly the same bytes.
  std::string request;
  request.reserve(256 + body.size());
  request.append("POST ").append(target.target).append(" HTTP/1.1\r\nHost: ").append(target.host_header);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Content-Type")) has_content_type = true;
    request.append("\r\n").append(name).append(": ").append(value);
  }
  if (!has_content_type) request.append("\r\nContent-Type: application/json");
  request.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);

  Attempt attempt = co_await exchange(target, request, deadline);
  if (attempt.stale && !cancelled_ && std::chrono::steady_clock::now() < deadline) {
    // The peer closed the idle connection between two posts: that is not the
    // target failing, so try once more on a fresh connection.
    attempt = co_await exchange(target, request, deadline);
  }
  co_return attempt.result;
}

asio::awaitable<OutboundConnection::Attempt> OutboundConnection::exchange(
    const OutboundTarget& target, const std::string& request,
    std::chrono::steady_clock::time_point deadline) {
  Attempt attempt;
  const bool reused = open_;
  if (!open_) {
    error_code ec;
    tcp::resolver::results_type endpoints;
    const auto address = asio::ip::make_address(target.host, ec);
    if (!ec) {
      endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, target.port), target.host,
                                                      std::to_string(target.port));
    } else {
      std::tie(ec, endpoints) =
          co_await resolver_.async_resolve(target.host, std::to_string(target.port), nothrow);
      if (ec || cancelled_) {
        attempt.result.error =
            cancelled_ ? "cancelled" : "cannot resolve " + target.host + ": " + describe(ec);
        co_return attempt;
      }
    }
    stream_.expires_at(deadline);
    std::tie(ec, std::ignore) = co_await stream_.async_connect(endpoints, nothrow);
    if (ec || cancelled_) {
      attempt.result.error = cancelled_ ? "cancelled" : "connect: " + describe(ec);
      close();
      co_return attempt;
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    open_ = true;
  }

  stream_.expires_at(deadline);
  auto [write_ec, written] = co_await asio::async_write(stream_, asio::buffer(request), nothrow);
  (void)written;
  if (write_ec || cancelled_) {
    attempt.result.error = cancelled_ ? "cancelled" : "write: " + describe(write_ec);
    attempt.stale = reused && write_ec != beast::error::timeout;
    close();
    co_return attempt;
  }

  // A fresh bounded parser per response; interim 1xx answers are skipped.
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxResponseHeader);
    parser.body_limit(kMaxResponseBody);
    stream_.expires_at(deadline);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, nothrow);
    if (ec || cancelled_) {
      attempt.result.error = cancelled_ ? "cancelled" : "read: " + describe(ec);
      attempt.stale = reused && n == 0 && buffer_.size() == 0 && ec != beast::error::timeout &&
                      (ec == http::error::end_of_stream || ec == asio::error::eof ||
                       ec == asio::error::connection_reset || ec == asio::error::broken_pipe);
      close();
      co_return attempt;
    }
    const int status = static_cast<int>(parser.get().result_int());
    if (status >= 100 && status < 200) continue;
    attempt.result.status = status;
    // The body is read only to keep the connection usable; its content does not matter.
    std::tie(ec, n) = co_await http::async_read(stream_, buffer_, parser, nothrow);
    if (ec || cancelled_ || !parser.get().keep_alive()) {
      close();
    } else {
      stream_.expires_never();
    }
    co_return attempt;
  }
}

}  // namespace doorman::proxy
