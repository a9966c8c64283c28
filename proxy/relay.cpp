// Body streaming (see relay.hpp). The two relay_body instantiations live here so
// Beast's parser and Asio's write templates are compiled once.
#include "proxy/relay.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <span>

namespace doorman::proxy {

using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A gather list of at most five pieces: prefix, chunk size line, data, CRLF, last chunk.
struct Pieces {
  std::array<asio::const_buffer, 5> buffers;
  std::size_t count = 0;
  void add(const void* data, std::size_t size) {
    if (size != 0) buffers[count++] = asio::const_buffer(data, size);
  }
  void add(std::string_view s) { add(s.data(), s.size()); }
  auto sequence() const { return std::span<const asio::const_buffer>(buffers.data(), count); }
  // Drops the first `n` bytes (already sent).
  void consume(std::size_t n) {
    std::size_t first = 0;
    while (first < count && n >= buffers[first].size()) n -= buffers[first++].size();
    if (first < count) buffers[first] += n;
    std::copy(buffers.begin() + static_cast<std::ptrdiff_t>(first),
              buffers.begin() + static_cast<std::ptrdiff_t>(count), buffers.begin());
    count -= first;
  }
};

// Sends what the socket takes now (MSG_DONTWAIT) and returns how much that was;
// a full socket buffer is not an error. Writes that fit, which is nearly all of
// them, then cost one system call and no scheduler round trip.
std::size_t send_now(asio::ip::tcp::socket& socket, std::span<const asio::const_buffer> buffers,
                     error_code& ec) {
  std::array<iovec, 5> iov;
  const std::size_t count = std::min(buffers.size(), iov.size());
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<void*>(buffers[i].data());
    iov[i].iov_len = buffers[i].size();
  }
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = count;
  for (;;) {
    const auto n = ::sendmsg(socket.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec = error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

// Writes all of `pieces`: directly when the socket takes them, else the rest asynchronously.
asio::awaitable<error_code> write_pieces(asio::ip::tcp::socket& to, Pieces& pieces, Deadline& deadline,
                                         Clock::duration timeout) {
  std::size_t total = 0;
  for (const auto& b : pieces.sequence()) total += b.size();
  deadline.after(timeout);  // as an asynchronous write would: later steps may count on it
  error_code ec;
  const std::size_t sent = send_now(to, pieces.sequence(), ec);
  if (ec || sent == total) co_return ec;
  pieces.consume(sent);
  auto [write_ec, n] = co_await asio::async_write(to, pieces.sequence(), nothrow);
  co_return write_ec;
}

// Feeds `parser` what `buffer` already holds, as Beast's read_some does before it
// reads. True when that decided the step (progress, body buffer full, done or a
// parse error in `ec`); false when the parser needs bytes from the socket.
template <bool isRequest>
bool parse_buffered(http::parser<isRequest, http::buffer_body>& parser, boost::beast::flat_buffer& buffer,
                    error_code& ec) {
  if (buffer.size() == 0) return false;
  const auto used = parser.put(buffer.data(), ec);
  buffer.consume(used);
  if (ec != http::error::need_more) return true;
  ec = {};
  return false;
}

}  // namespace

asio::awaitable<error_code> write_all(asio::ip::tcp::socket& to, std::string_view bytes, Deadline& deadline,
                                      Clock::duration timeout) {
  Pieces pieces;
  pieces.add(bytes);
  if (pieces.count == 0) co_return error_code{};
  co_return co_await write_pieces(to, pieces, deadline, timeout);
}

template <bool isRequest>
bool read_header_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     http::parser<isRequest, http::buffer_body>& parser, error_code& ec) {
  for (;;) {
    if (parser.is_header_done()) return true;
    if (parse_buffered(parser, buffer, ec)) {
      if (ec || parser.is_header_done()) return true;
      continue;
    }
    // The same read size Beast's read_some would use; 0: full, Beast reports the overflow.
    const std::size_t size = boost::beast::read_size(buffer, 65536);
    if (size == 0) return false;
    const auto space = buffer.prepare(size);
    const auto n = ::recv(socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
    if (n > 0) {
      buffer.commit(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;  // nothing yet, the peer's end, or an error: the asynchronous read reports it
  }
}

template bool read_header_now<true>(asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                    http::parser<true, http::buffer_body>&, error_code&);
template bool read_header_now<false>(asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                     http::parser<false, http::buffer_body>&, error_code&);

template <bool isRequest>
asio::awaitable<RelayResult> relay_body(http::parser<isRequest, http::buffer_body>& parser,
                                        asio::ip::tcp::socket& from, boost::beast::flat_buffer& from_buffer,
                                        asio::ip::tcp::socket& to, Framing out, std::string_view prefix,
                                        RelayBuffer& buffer, Deadline& deadline, RelayTimeouts timeouts) {
  RelayResult result;
  char* const data = buffer.data();
  bool prefix_pending = !prefix.empty();
  bool last_chunk_sent = out != Framing::chunked;
  char size_line[24];

  // A streaming peer (chunked, or read to the end) may send the header long before
  // the first body byte: send it now. With a Content-Length the body is usually one
  // segment behind, so header and first piece go out in one write (one wakeup less
  // for the client).
  if (prefix_pending && from_buffer.size() == 0 && !parser.is_done() && out != Framing::content_length) {
    Pieces pieces;
    pieces.add(prefix);
    const auto ec = co_await write_pieces(to, pieces, deadline, timeouts.write);
    if (ec) {
      result.ec = ec;
      result.write_failed = true;
      co_return result;
    }
    prefix_pending = false;
  }

  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = data;
    body.size = RelayBuffer::kSize;
    // Bytes that came with the header (often the whole body) need no read.
    error_code read_ec;
    if (!parse_buffered(parser, from_buffer, read_ec)) {
      deadline.after(timeouts.read);
      auto [ec, used] = co_await http::async_read_some(from, from_buffer, parser, nothrow);
      read_ec = ec;
    }
    if (read_ec == http::error::need_buffer) read_ec = {};
    if (read_ec) {
      result.ec = read_ec;
      result.read_failed = true;
      co_return result;
    }
    const std::size_t got = RelayBuffer::kSize - body.size;
    const bool done = parser.is_done();
    if (got == 0 && !done && !prefix_pending) continue;

    Pieces pieces;
    if (prefix_pending) pieces.add(prefix);
    if (got != 0) {
      if (out == Framing::chunked) {
        const int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", got);
        pieces.add(size_line, static_cast<std::size_t>(len));
        pieces.add(data, got);
        pieces.add(kCrlf);
      } else {
        pieces.add(data, got);
      }
    }
    if (done && !last_chunk_sent) {
      pieces.add(kLastChunk);
      last_chunk_sent = true;
    }
    if (pieces.count == 0) continue;
    const auto write_ec = co_await write_pieces(to, pieces, deadline, timeouts.write);
    if (write_ec) {
      result.ec = write_ec;
      result.write_failed = true;
      co_return result;
    }
    prefix_pending = false;
    result.bytes += got;
  }

  if (prefix_pending || !last_chunk_sent) {
    Pieces pieces;
    if (prefix_pending) pieces.add(prefix);
    if (!last_chunk_sent) pieces.add(kLastChunk);
    const auto write_ec = co_await write_pieces(to, pieces, deadline, timeouts.write);
    if (write_ec) {
      result.ec = write_ec;
      result.write_failed = true;
    }
  }
  co_return result;
}

template asio::awaitable<RelayResult> relay_body<true>(http::parser<true, http::buffer_body>&,
                                                       asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                                       asio::ip::tcp::socket&, Framing, std::string_view,
                                                       RelayBuffer&, Deadline&, RelayTimeouts);
template asio::awaitable<RelayResult> relay_body<false>(http::parser<false, http::buffer_body>&,
                                                        asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                                        asio::ip::tcp::socket&, Framing, std::string_view,
                                                        RelayBuffer&, Deadline&, RelayTimeouts);

}  // namespace doorman::proxy
