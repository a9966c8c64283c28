// Body streaming and direct writes (see relay.hpp). The relay_body instantiations
// live here so Beast's parser and Asio's write templates are compiled once.
#include "proxy/relay.hpp"

#include "proxy/socket_reads.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <span>
#include <tuple>

namespace doorman::proxy {

using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Sends what the socket takes now (MSG_DONTWAIT) and returns how much that was;
// a full socket buffer is not an error. Writes that fit, which is nearly all of
// them, then cost one system call and no scheduler round trip.
std::size_t send_some(asio::ip::tcp::socket& socket, std::span<const asio::const_buffer> buffers,
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

// Feeds `parser` what `buffer` already holds, as Beast's read_some does before it
// reads. True when that decided the step (progress, body buffer full, done or a
// parse error in `ec`); false when the parser needs bytes from the socket.
template <bool isRequest>
bool parse_buffered(BodyParser<isRequest>& parser, boost::beast::flat_buffer& buffer, error_code& ec) {
  if (buffer.size() == 0) return false;
  const auto used = parser.put(buffer.data(), ec);
  buffer.consume(used);
  if (ec != http::error::need_more) return true;
  ec = {};
  return false;
}

// Requests come from clients, responses from the upstream (socket_reads.hpp).
template <bool isRequest>
constexpr ShortRead kShortRead = isRequest ? ShortRead::keep_unmarked : ShortRead::mark_drained;

}  // namespace

bool GatherWrite::send_now(asio::ip::tcp::socket& to, Deadline& deadline, Clock::duration timeout,
                           error_code& ec) {
  deadline.after(timeout);
  std::size_t total = 0;
  for (const auto& b : pieces()) total += b.size();
  const std::size_t sent = send_some(to, pieces(), ec);
  if (ec || sent == total) {
    count_ = 0;
    return true;
  }
  consume(sent);
  return false;
}

asio::awaitable<error_code> GatherWrite::finish(asio::ip::tcp::socket& to) {
  auto [ec, n] = co_await asio::async_write(to, pieces(), nothrow);
  count_ = 0;
  co_return ec;
}

void GatherWrite::consume(std::size_t n) {
  std::size_t first = 0;
  while (first < count_ && n >= buffers_[first].size()) n -= buffers_[first++].size();
  if (first < count_) buffers_[first] += n;
  std::copy(buffers_.begin() + static_cast<std::ptrdiff_t>(first),
            buffers_.begin() + static_cast<std::ptrdiff_t>(count_), buffers_.begin());
  count_ -= first;
}

asio::awaitable<error_code> write_all(asio::ip::tcp::socket& to, std::string_view bytes, Deadline& deadline,
                                      Clock::duration timeout) {
  GatherWrite pieces;
  pieces.add(bytes);
  error_code ec;
  if (!pieces.empty() && !pieces.send_now(to, deadline, timeout, ec)) ec = co_await pieces.finish(to);
  co_return ec;
}

template <bool isRequest>
bool read_header_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     BodyParser<isRequest>& parser, error_code& ec) {
  for (;;) {
    if (parser.is_header_done()) return true;
    if (parse_buffered(parser, buffer, ec)) {
      if (ec || parser.is_header_done()) return true;
      continue;
    }
    error_code read_ec;
    // Nothing yet, or the peer's end: read_header says which.
    if (read_now(socket, buffer, read_ec, kShortRead<isRequest>) == 0) return false;
  }
}

template bool read_header_now<true>(asio::ip::tcp::socket&, boost::beast::flat_buffer&, BodyParser<true>&,
                                    error_code&);
template bool read_header_now<false>(asio::ip::tcp::socket&, boost::beast::flat_buffer&, BodyParser<false>&,
                                     error_code&);

namespace {

// Feeds `parser` until it makes progress (or, with `until_header`, until its header
// is done), reading as Beast's read_some does. The part that needs no waiting is
// read_header_now's (or one parse step); the wait is awaited here, not through
// read_some, so a read costs one coroutine frame.
template <bool isRequest>
asio::awaitable<error_code> read_message(asio::ip::tcp::socket& from, boost::beast::flat_buffer& buffer,
                                         BodyParser<isRequest>& parser, bool until_header) {
  constexpr ShortRead short_read = kShortRead<isRequest>;
  error_code ec;
  for (;;) {
    // What is buffered or already received first: read_header_now for a header.
    if (until_header) {
      if (read_header_now(from, buffer, parser, ec)) co_return ec;
    } else if (parse_buffered(parser, buffer, ec)) {
      co_return ec;
    }
    ReadSome read;
    asio::mutable_buffer space;
    if (!read_some_now(from, buffer, short_read, read, space)) {
      std::tie(read.ec, read.bytes) = co_await from.async_read_some(space, nothrow);
      read_some_done(from, buffer, short_read, space.size(), read);
    }
    if (read.ec == asio::error::eof) {
      // As Beast: the end before any byte is the end of the stream; after some, the
      // parser decides (a body read to the end completes, anything else is cut).
      if (!parser.got_some()) co_return http::error::end_of_stream;
      parser.put_eof(ec);
      co_return ec;
    }
    if (read.ec) co_return read.ec;
  }
}

}  // namespace

template <bool isRequest>
asio::awaitable<error_code> read_message_some(asio::ip::tcp::socket& from, boost::beast::flat_buffer& buffer,
                                              BodyParser<isRequest>& parser) {
  return read_message(from, buffer, parser, false);
}

template asio::awaitable<error_code> read_message_some<true>(asio::ip::tcp::socket&,
                                                             boost::beast::flat_buffer&, BodyParser<true>&);
template asio::awaitable<error_code> read_message_some<false>(asio::ip::tcp::socket&,
                                                              boost::beast::flat_buffer&, BodyParser<false>&);

template <bool isRequest>
asio::awaitable<error_code> read_header(asio::ip::tcp::socket& from, boost::beast::flat_buffer& buffer,
                                        BodyParser<isRequest>& parser) {
  return read_message(from, buffer, parser, true);
}

template asio::awaitable<error_code> read_header<true>(asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                                       BodyParser<true>&);
template asio::awaitable<error_code> read_header<false>(asio::ip::tcp::socket&, boost::beast::flat_buffer&,
                                                        BodyParser<false>&);

template <bool isRequest>
bool body_is_buffered(const BodyParser<isRequest>& parser, const boost::beast::flat_buffer& from_buffer) {
  if (!parser.is_header_done() || parser.chunked() || parser.is_done()) return false;
  const auto remaining = parser.content_length_remaining();
  return remaining && *remaining != 0 && *remaining <= RelayBuffer::kSize && from_buffer.size() >= *remaining;
}

template bool body_is_buffered<true>(const BodyParser<true>&, const boost::beast::flat_buffer&);
template bool body_is_buffered<false>(const BodyParser<false>&, const boost::beast::flat_buffer&);

template <bool isRequest>
bool relay_buffered_body(BodyParser<isRequest>& parser, boost::beast::flat_buffer& from_buffer,
                         asio::ip::tcp::socket& to, Framing out, std::string_view prefix, RelayBuffer& buffer,
                         Deadline& deadline, Clock::duration write_timeout, RelayResult& result,
                         GatherWrite& rest) {
  if (out != Framing::content_length || !body_is_buffered(parser, from_buffer)) return false;
  // The parse below cannot stop short now: the whole body is buffered and fits.
  char* const data = buffer.data();
  auto& body = parser.get().body();
  body.data = data;
  body.size = RelayBuffer::kSize;
  error_code ec;
  from_buffer.consume(parser.put(from_buffer.data(), ec));
  if (ec == http::error::need_buffer) ec = {};
  const std::size_t got = RelayBuffer::kSize - body.size;
  result = RelayResult{};
  if (ec || !parser.is_done()) {
    // Unreachable by the checks above, but never report a cut body as relayed.
    result.ec = ec ? ec : error_code(http::error::partial_message);
    result.read_failed = true;
    return true;
  }
  rest.add(prefix);
  rest.add(data, got);
  if (rest.send_now(to, deadline, write_timeout, result.ec) && result.ec) {
    result.write_failed = true;
    return true;
  }
  result.bytes = got;
  return true;
}

template bool relay_buffered_body<true>(BodyParser<true>&, boost::beast::flat_buffer&, asio::ip::tcp::socket&,
                                        Framing, std::string_view, RelayBuffer&, Deadline&, Clock::duration,
                                        RelayResult&, GatherWrite&);
template bool relay_buffered_body<false>(BodyParser<false>&, boost::beast::flat_buffer&,
                                         asio::ip::tcp::socket&, Framing, std::string_view, RelayBuffer&,
                                         Deadline&, Clock::duration, RelayResult&, GatherWrite&);

template <bool isRequest>
asio::awaitable<RelayResult> relay_body(BodyParser<isRequest>& parser, asio::ip::tcp::socket& from,
                                        boost::beast::flat_buffer& from_buffer, asio::ip::tcp::socket& to,
                                        Framing out, std::string_view prefix, RelayBuffer& buffer,
                                        Deadline& deadline, RelayTimeouts timeouts) {
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
    GatherWrite pieces;
    pieces.add(prefix);
    error_code ec;
    if (!pieces.send_now(to, deadline, timeouts.write, ec)) ec = co_await pieces.finish(to);
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
      read_ec = co_await read_message_some(from, from_buffer, parser);
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

    GatherWrite pieces;
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
    if (pieces.empty()) continue;
    error_code write_ec;
    if (!pieces.send_now(to, deadline, timeouts.write, write_ec)) write_ec = co_await pieces.finish(to);
    if (write_ec) {
      result.ec = write_ec;
      result.write_failed = true;
      co_return result;
    }
    prefix_pending = false;
    result.bytes += got;
  }

  if (prefix_pending || !last_chunk_sent) {
    GatherWrite pieces;
    if (prefix_pending) pieces.add(prefix);
    if (!last_chunk_sent) pieces.add(kLastChunk);
    error_code write_ec;
    if (!pieces.send_now(to, deadline, timeouts.write, write_ec)) write_ec = co_await pieces.finish(to);
    if (write_ec) {
      result.ec = write_ec;
      result.write_failed = true;
    }
  }
  co_return result;
}

template asio::awaitable<RelayResult> relay_body<true>(BodyParser<true>&, asio::ip::tcp::socket&,
                                                       boost::beast::flat_buffer&, asio::ip::tcp::socket&,
                                                       Framing, std::string_view, RelayBuffer&, Deadline&,
                                                       RelayTimeouts);
template asio::awaitable<RelayResult> relay_body<false>(BodyParser<false>&, asio::ip::tcp::socket&,
                                                        boost::beast::flat_buffer&, asio::ip::tcp::socket&,
                                                        Framing, std::string_view, RelayBuffer&, Deadline&,
                                                        RelayTimeouts);

}  // namespace doorman::proxy
