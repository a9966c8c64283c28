// Reads on the proxied sockets (client and upstream) that never ask the kernel for
// bytes it is known not to have, as nginx's per-event `ready` flag does.
//
// Asio's epoll reactor tries every new read at once unless it knows the socket is
// empty, and it learns that only at end of stream. A proxy's reads nearly always
// start on an empty socket (the next request, the upstream's answer), so each costs
// a recv() that answers EAGAIN, or an epoll_ctl() when waiting with async_wait.
// Here a read that left the socket empty says so to the reactor, which then queues
// the next read until the kernel reports new bytes, and the reactor itself clears
// the mark on that report. With Asio other than the 1.81 epoll reactor the mark is
// not available and reads behave exactly as Asio's own.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

namespace doorman::proxy {

namespace asio = boost::asio;

// Whether this build can mark sockets drained (the Asio it was built with allows it).
bool drained_marks_supported();

// True while `socket` is marked drained: no read since found bytes, and epoll has
// not reported it since the read that found it empty.
bool known_drained(asio::ip::tcp::socket& socket);

// Whether a read that returns fewer bytes than asked marks the socket drained.
// Such a read can take the peer's end (FIN) along with the last bytes, and epoll
// reports nothing more for it: a later read on the marked socket would wait for its
// deadline instead of seeing the end at once. A read that finds nothing (EAGAIN)
// always marks: no end is pending then.
enum class ShortRead {
  keep_unmarked,  // clients: a client may send its request and its end together
  mark_drained,   // upstream connections: a request sent after the upstream closed
                  // draws a reset, which epoll does report
};

// Reads what `socket` holds now into `buffer` without waiting. Returns the number of
// bytes read; 0 with `ec` clear means nothing yet (the socket is then marked
// drained), 0 with `ec` = eof is the peer's end. Reads nothing on a socket already
// marked drained.
std::size_t read_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                     boost::system::error_code& ec, ShortRead short_read);

struct ReadSome {
  boost::system::error_code ec;  // eof at the peer's end
  std::size_t bytes = 0;
};

// Reads at least one byte into `buffer`, waiting for it if needed (as Beast's
// read_some would, with the same read size). A socket marked drained costs no
// system call until the kernel reports bytes. Must not run while another read or a
// write on `socket` is pending: a mark it leaves after waiting relies on the read
// completing straight from the reactor's event.
asio::awaitable<ReadSome> read_some(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                                    ShortRead short_read);

// read_some in halves, for a coroutine on the hot path that awaits the read itself
// (one coroutine frame less per read):
//   if (!read_some_now(socket, buffer, short_read, result, space)) {
//     std::tie(result.ec, result.bytes) = co_await socket.async_read_some(space, ...);
//     read_some_done(socket, buffer, short_read, space.size(), result);
//   }
// read_some_now is true when it decided (bytes read, or an error); else `space` is
// where the asynchronous read goes.
bool read_some_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer, ShortRead short_read,
                   ReadSome& result, asio::mutable_buffer& space);
void read_some_done(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer, ShortRead short_read,
                    std::size_t asked, const ReadSome& result);

}  // namespace doorman::proxy
