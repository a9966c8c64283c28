// Body streaming (see relay.hpp). The two relay_body instantiations live here so
// Beast's parser and Asio's write templates are compiled once.
#include "proxy/relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
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
};

}  // namespace

asio::awaitable<error_code> write_all(asio::ip::tcp::socket& to, std::string_view bytes, Deadline& deadline,
                                      Clock::duration timeout) {
  deadline.after(timeout);
  auto [ec, n] = co_await asio::async_write(to, asio::buffer(bytes.data(), bytes.size()), nothrow);
  co_return ec;
}

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
    deadline.after(timeouts.write);
    auto [ec, n] = co_await asio::async_write(to, asio::buffer(prefix.data(), prefix.size()), nothrow);
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
    deadline.after(timeouts.read);
    auto [read_ec, used] = co_await http::async_read_some(from, from_buffer, parser, nothrow);
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
    deadline.after(timeouts.write);
    auto [write_ec, n] = co_await asio::async_write(to, pieces.sequence(), nothrow);
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
    deadline.after(timeouts.write);
    auto [write_ec, n] = co_await asio::async_write(to, pieces.sequence(), nothrow);
    if (write_ec) {
      result.ec = write_ec;
      result.write_failed = true;
    }
  }
  co_return result;
}

template asio::awaitable<RelayResult> relay_body<true>(http::parser<true, http::buffer_body>&, asio::ip::tcp::socket&,
                                                       boost::beast::flat_buffer&, asio::ip::tcp::socket&, Framing,
                                                       std::string_view, RelayBuffer&, Deadline&, RelayTimeouts);
template asio::awaitable<RelayResult> relay_body<false>(http::parser<false, http::buffer_body>&,
                                                        asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                                        asio::ip::tcp::socket&, Framing, std::string_view,
                                                        RelayBuffer&, Deadline&, RelayTimeouts);

}  // namespace doorman::proxy
