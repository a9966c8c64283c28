// doorman's own minimal HTTP/1.1 client (DESIGN.md §1 "outbound HTTP client"):
// one kept-alive connection that POSTs a body and reads the status, with one
// deadline over the whole exchange. http:// only for now; https (outbound.ca_file)
// comes with OAuth. Used by the hook dispatcher; one connection per delivery lane.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace doorman::proxy {

namespace asio = boost::asio;

// Where a request goes: from an absolute http:// URL.
struct OutboundTarget {
  std::string host;  // name or address, IPv6 without brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
  std::string host_header;   // "host[:port]" as it goes in Host
};

// Parses "http://host[:port]/path". Returns an error message (empty = fine);
// https is refused here until the TLS client exists.
std::string parse_outbound_url(std::string_view url, OutboundTarget& out);

struct OutboundResult {
  int status = 0;     // 0 = no response (see error)
  std::string error;  // why there was no response: "timeout", "connection refused", ...
  bool ok() const { return status >= 200 && status < 300; }
};

class OutboundConnection {
 public:
  // Limits on what the peer may send back: hooks need only the status.
  static constexpr std::uint32_t kMaxResponseHeader = 16 * 1024;
  static constexpr std::uint64_t kMaxResponseBody = 64 * 1024;

  explicit OutboundConnection(asio::any_io_executor executor);

  // POSTs `body` to `target` with `headers` (Host, Content-Length and, unless
  // given, Content-Type are added) and reads the response, all within `timeout`.
  // Reuses the kept-alive connection when there is one; a reused connection the
  // peer had already closed is replaced once without counting as a failure.
  asio::awaitable<OutboundResult> post(const OutboundTarget& target, std::string_view body,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       std::chrono::steady_clock::duration timeout);

  // Aborts the exchange in flight (it completes with an error) and drops the connection.
  void cancel();
  bool is_open() const { return open_; }

 private:
  struct Attempt {
    OutboundResult result;
    bool stale = false;  // failed before a single response byte on a reused connection
  };
  asio::awaitable<Attempt> exchange(const OutboundTarget& target, const std::string& request,
                                    std::chrono::steady_clock::time_point deadline);
  void close();

  asio::ip::tcp::resolver resolver_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
  bool cancelled_ = false;  // cancel() during this post(): no reconnect
};

}  // namespace doorman::proxy
