// Body streaming between two sockets without buffering a whole body: what a Beast
// buffer_body parser yields from one side is written to the other, either as is
// (Content-Length or close-delimited) or re-framed as chunks. Also the session
// deadline the worker's ticker enforces, since every relay step moves it, and the
// direct writes that let the common request complete without suspending.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "proxy/header_arena.hpp"

namespace doorman::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;

using Clock = std::chrono::steady_clock;

// One deadline per session. Setting it is a store, not a timer operation: the
// worker's ticker compares it with the clock a few times a second (worker.hpp).
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  void after(Clock::duration d) { at = Clock::now() + d; }
  void clear() { at = Clock::time_point::max(); }
};

// How a body goes out on the other side.
enum class Framing {
  none,            // no body
  content_length,  // bytes as they come; the header says how many
  chunked,         // re-chunked; trailers are not relayed
  until_close,     // bytes as they come; the end is the connection's end
};

// A reusable copy buffer, allocated on first use (most requests have no body).
class RelayBuffer {
 public:
  static constexpr std::size_t kSize = 32 * 1024;
  char* data() {
    if (!bytes_) bytes_ = std::make_unique<char[]>(kSize);
    return bytes_.get();
  }

 private:
  std::unique_ptr<char[]> bytes_;
};

struct RelayTimeouts {
  Clock::duration read;
  Clock::duration write;
};

struct RelayResult {
  boost::system::error_code ec;
  bool read_failed = false;   // ec came from the reading side
  bool write_failed = false;  // ec came from the writing side
  std::uint64_t bytes = 0;    // body bytes relayed
};

template <bool isRequest>
using BodyParser = http::parser<isRequest, http::buffer_body, FieldsAllocator>;

// A gather list of at most five pieces (header, chunk size line, data, CRLF, last
// chunk) sent without suspending when the socket takes it all, which is nearly
// always: the caller awaits finish() only when send_now() left something.
class GatherWrite {
 public:
  void add(const void* data, std::size_t size) {
    if (size != 0) buffers_[count_++] = asio::const_buffer(data, size);
  }
  void add(std::string_view s) { add(s.data(), s.size()); }
  bool empty() const { return count_ == 0; }
  std::span<const asio::const_buffer> pieces() const { return {buffers_.data(), count_}; }

  // Sends what `to` takes at once (and moves the deadline, as an asynchronous write
  // would: later steps may count on it). True when nothing is left to send or `ec`
  // is set; false: the caller co_awaits finish(to).
  bool send_now(asio::ip::tcp::socket& to, Deadline& deadline, Clock::duration timeout,
                boost::system::error_code& ec);
  // Writes what send_now() left.
  asio::awaitable<boost::system::error_code> finish(asio::ip::tcp::socket& to);

 private:
  void consume(std::size_t n);

  std::array<asio::const_buffer, 5> buffers_;
  std::size_t count_ = 0;
};

// Reads the rest of `parser`'s message from `from` and writes it to `to` framed as
// `out`. `prefix` (e.g. the serialized header) goes out first: with the first body
// piece when that is already buffered or `out` is content_length, else on its own so
// a streaming peer is not kept waiting. A chunked output ends with the last chunk.
template <bool isRequest>
asio::awaitable<RelayResult> relay_body(BodyParser<isRequest>& parser, asio::ip::tcp::socket& from,
                                        boost::beast::flat_buffer& from_buffer, asio::ip::tcp::socket& to,
                                        Framing out, std::string_view prefix, RelayBuffer& buffer,
                                        Deadline& deadline, RelayTimeouts timeouts);

// True when `from_buffer` holds the whole rest of `parser`'s body, a Content-Length
// body of at most RelayBuffer::kSize: relay_buffered_body() then takes it.
template <bool isRequest>
bool body_is_buffered(const BodyParser<isRequest>& parser, const boost::beast::flat_buffer& from_buffer);

// relay_body's common case without a coroutine: a Content-Length body of at most
// RelayBuffer::kSize that `from_buffer` already holds whole goes out with `prefix`
// in one gather write. False: not that case, nothing was touched, call relay_body.
// True: relayed, with `result` as relay_body would give it, except that `rest`
// may still hold what the socket did not take at once (co_await rest.finish(to)).
template <bool isRequest>
bool relay_buffered_body(BodyParser<isRequest>& parser, boost::beast::flat_buffer& from_buffer,
                         asio::ip::tcp::socket& to, Framing out, std::string_view prefix, RelayBuffer& buffer,
                         Deadline& deadline, Clock::duration write_timeout, RelayResult& result,
                         GatherWrite& rest);

// Writes all of `bytes` with a write deadline. What the socket takes at once is
// sent directly: only a remainder goes through an asynchronous write. (A caller on
// the hot path uses GatherWrite itself, which needs no coroutine frame.)
asio::awaitable<boost::system::error_code> write_all(asio::ip::tcp::socket& to, std::string_view bytes,
                                                     Deadline& deadline, Clock::duration timeout);

// Completes a message header from what `buffer` holds and what `socket` has already
// received, without waiting and without a trip through the scheduler (an Asio
// operation that completes at once is still posted, and each post costs the worker
// a pass through its event loop). True when it decided: the header is complete, or
// `ec` is the parse error read_header would have given. False: more bytes must be
// waited for (or the peer closed): call read_header, which picks up where this left off.
template <bool isRequest>
bool read_header_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     BodyParser<isRequest>& parser, boost::system::error_code& ec);

// Beast's async_read_header and async_read_some (one parse step: progress, a full
// body buffer, the end, or an error), with the same errors, over socket_reads.hpp's
// read_some: a read on a socket known to be empty waits without a system call.
// Requests are read as from a client, responses as from the upstream (ShortRead).
template <bool isRequest>
asio::awaitable<boost::system::error_code> read_header(asio::ip::tcp::socket& from,
                                                       boost::beast::flat_buffer& buffer,
                                                       BodyParser<isRequest>& parser);
template <bool isRequest>
asio::awaitable<boost::system::error_code> read_message_some(asio::ip::tcp::socket& from,
                                                             boost::beast::flat_buffer& buffer,
                                                             BodyParser<isRequest>& parser);

}  // namespace doorman::proxy
