// Tests for proxy/socket_reads.cpp: the drained mark is set by reads that empty a
// socket (short reads only where asked), cleared by the reactor when new bytes or
// a reset arrive (also when no read is pending then), and a read on a marked socket
// still gets every byte and the end. Real loopback sockets and a real io_context.
#include "proxy/socket_reads.hpp"

#include "proxy/loopback_pair.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>

#include <chrono>
#include <optional>
#include <string>

using boost::asio::ip::tcp;
using namespace doorman::proxy;
using namespace std::chrono_literals;

namespace {

struct Connection : LoopbackPair {
  tcp::socket& peer = connected;
  tcp::socket& socket = accepted;
  boost::beast::flat_buffer buffer;
  void peer_sends(const std::string& bytes) { boost::asio::write(peer, boost::asio::buffer(bytes)); }
  std::string buffered() const {
    const auto data = buffer.data();
    return {static_cast<const char*>(data.data()), data.size()};
  }
  // Lets the reactor look at the sockets: a pending timer keeps poll() from
  // returning before the reactor ran.
  void let_reactor_run() {
    boost::asio::steady_timer keep_busy(context, 1h);
    keep_busy.async_wait([](auto) {});
    for (int i = 0; i < 5; ++i) {
      context.poll();
      context.restart();
    }
    keep_busy.cancel();
    context.poll();
    context.restart();
  }
  // A read on the still empty socket: it finds nothing and marks the socket drained.
  void read_nothing_yet() {
    boost::system::error_code ec;
    CHECK(read_now(socket, buffer, ec, ShortRead::mark_drained) == 0);
    CHECK_FALSE(ec);
    REQUIRE(known_drained(socket));
  }
  // The peer sends `bytes` and its end; the reactor sees both; read_now takes the bytes.
  std::size_t read_bytes_sent_with_the_end(const std::string& bytes, ShortRead short_read) {
    peer_sends(bytes);
    peer.shutdown(tcp::socket::shutdown_send);
    let_reactor_run();
    boost::system::error_code ec;
    const std::size_t n = read_now(socket, buffer, ec, short_read);
    CHECK_FALSE(ec);
    return n;
  }
  // Runs read_some to completion, or gives up after `bound`.
  std::optional<ReadSome> read_some_within(std::chrono::milliseconds bound,
                                           ShortRead short_read = ShortRead::mark_drained) {
    std::optional<ReadSome> result;
    boost::asio::co_spawn(
        context,
        [&]() -> boost::asio::awaitable<void> { result = co_await read_some(socket, buffer, short_read); },
        boost::asio::detached);
    context.run_for(bound);
    context.restart();
    return result;
  }
};

}  // namespace

TEST_CASE("this build can mark sockets drained (Debian 12's Asio 1.81 epoll reactor)") {
  // If Boost changes, this fails first: reads then cost Asio's extra system calls
  // again, and the mark's use of the reactor's internals must be checked anew.
  CHECK(drained_marks_supported());
}

TEST_CASE("read_now takes what the socket holds, and marks it drained after a short read") {
  Connection c;
  c.peer_sends("GET / HTTP/1.1\r\n");
  c.let_reactor_run();
  CHECK_FALSE(known_drained(c.socket));
  boost::system::error_code ec;
  CHECK(read_now(c.socket, c.buffer, ec, ShortRead::mark_drained) == 16);
  CHECK_FALSE(ec);
  CHECK(c.buffered() == "GET / HTTP/1.1\r\n");
  CHECK(known_drained(c.socket));
}

TEST_CASE("a client's short read leaves the socket unmarked: its end may have come with it") {
  Connection c;
  CHECK(c.read_bytes_sent_with_the_end("GET / HTTP/1.1\r\n\r\n", ShortRead::keep_unmarked) == 18);
  CHECK_FALSE(known_drained(c.socket));
  // The end was taken with the bytes and epoll says no more: only another read sees it.
  const auto read = c.read_some_within(2000ms, ShortRead::keep_unmarked);
  REQUIRE(read.has_value());
  CHECK(read->ec == boost::asio::error::eof);
}

TEST_CASE("read_now on an empty socket reads nothing, is no error, and marks it drained") {
  Connection c;
  boost::system::error_code ec;
  CHECK(read_now(c.socket, c.buffer, ec, ShortRead::mark_drained) == 0);
  CHECK_FALSE(ec);
  CHECK(known_drained(c.socket));
}

TEST_CASE("a drained socket is not read again until the reactor reports new bytes") {
  Connection c;
  c.read_nothing_yet();
  boost::system::error_code ec;
  c.peer_sends("abc");
  // Nothing ran the reactor: the mark stands and read_now does not ask the kernel.
  CHECK(read_now(c.socket, c.buffer, ec, ShortRead::mark_drained) == 0);
  CHECK(c.buffer.size() == 0);
  // The reactor's report, with no read pending, clears the mark: the bytes are not lost.
  c.let_reactor_run();
  CHECK_FALSE(known_drained(c.socket));
  CHECK(read_now(c.socket, c.buffer, ec, ShortRead::mark_drained) == 3);
  CHECK(c.buffered() == "abc");
}

TEST_CASE("read_some on a drained socket waits for the bytes, then marks the socket drained again") {
  Connection c;
  c.read_nothing_yet();
  boost::asio::steady_timer later(c.context, 30ms);
  later.async_wait([&](auto) { c.peer_sends("hello"); });
  const auto read = c.read_some_within(2000ms);
  REQUIRE(read.has_value());
  CHECK_FALSE(read->ec);
  CHECK(read->bytes == 5);
  CHECK(c.buffered() == "hello");
  CHECK(known_drained(c.socket));
}

TEST_CASE("read_some gets bytes that arrived after the mark while no read was pending") {
  Connection c;
  c.read_nothing_yet();
  c.peer_sends("late");
  c.let_reactor_run();  // the report is consumed here, before the read starts
  const auto read = c.read_some_within(2000ms);
  REQUIRE(read.has_value());
  CHECK(read->bytes == 4);
  CHECK(c.buffered() == "late");
}

TEST_CASE("read_some reports the peer's end on a drained socket") {
  Connection c;
  c.read_nothing_yet();
  boost::asio::steady_timer later(c.context, 30ms);
  later.async_wait([&](auto) { c.peer.shutdown(tcp::socket::shutdown_send); });
  const auto read = c.read_some_within(2000ms);
  REQUIRE(read.has_value());
  CHECK(read->ec == boost::asio::error::eof);
  CHECK(read->bytes == 0);
}

TEST_CASE("an upstream end hidden by a short read shows once a request draws the reset") {
  Connection c;
  CHECK(c.read_bytes_sent_with_the_end("HTTP/1.1 200 OK\r\n\r\n", ShortRead::mark_drained) == 19);
  CHECK(known_drained(c.socket));
  boost::system::error_code ec;
  // The upstream closes for good without reading; the next request draws a reset.
  c.peer.close();
  boost::asio::write(c.socket, boost::asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")), ec);
  const auto read = c.read_some_within(2000ms);
  REQUIRE(read.has_value());
  CHECK(read->ec);
  CHECK(read->bytes == 0);
}

TEST_CASE("read_now reports the peer's end once nothing is left") {
  Connection c;
  c.peer.shutdown(tcp::socket::shutdown_send);
  c.let_reactor_run();
  boost::system::error_code ec;
  CHECK(read_now(c.socket, c.buffer, ec, ShortRead::keep_unmarked) == 0);
  CHECK(ec == boost::asio::error::eof);
  CHECK_FALSE(known_drained(c.socket));
}

TEST_CASE("a read that fills the whole read size does not mark the socket drained") {
  Connection c;
  // More than one read's worth (Beast's 64 KiB read size): the first read is full.
  const std::string big(100 * 1024, 'x');
  std::size_t sent = 0;
  boost::system::error_code ec;
  while (sent < big.size()) {
    sent += c.peer.write_some(boost::asio::buffer(big.data() + sent, big.size() - sent), ec);
    REQUIRE_FALSE(ec);
  }
  c.let_reactor_run();
  const std::size_t asked = boost::beast::read_size(c.buffer, 65536);
  std::size_t total = read_now(c.socket, c.buffer, ec, ShortRead::mark_drained);
  REQUIRE_FALSE(ec);
  CHECK(total == asked);
  CHECK_FALSE(known_drained(c.socket));
  while (total < big.size()) {
    const auto read = c.read_some_within(2000ms);
    REQUIRE(read.has_value());
    REQUIRE_FALSE(read->ec);
    total += read->bytes;
  }
  CHECK(total == big.size());
}
