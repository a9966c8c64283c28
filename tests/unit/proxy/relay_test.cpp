// Tests for proxy/relay.cpp: direct gather writes, and the buffered-body fast
// path against what relay_body would have sent. Real loopback sockets.
#include "proxy/relay.hpp"

#include "proxy/loopback_pair.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>

#include <cstring>
#include <optional>
#include <string>

using boost::asio::ip::tcp;
using namespace doorman::proxy;

namespace {

struct SocketPair : LoopbackPair {
  tcp::socket& a = connected;
  tcp::socket& b = accepted;
  std::string read_b(std::size_t n) {
    std::string out(n, '\0');
    boost::asio::read(b, boost::asio::buffer(out));
    return out;
  }
};

// A response parser that has read the header of `bytes` from `buffer`, which keeps the rest.
void parse_header(std::optional<ResponseParser>& parser, HeaderArena& arena,
                  boost::beast::flat_buffer& buffer, const std::string& bytes) {
  emplace_parser(parser, arena);
  auto space = buffer.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  buffer.commit(bytes.size());
  boost::system::error_code ec;
  buffer.consume(parser->put(buffer.data(), ec));
  REQUIRE_FALSE(ec);
  REQUIRE(parser->is_header_done());
}

}  // namespace

TEST_CASE("a gather write sends its pieces in order") {
  SocketPair pair;
  Deadline deadline;
  GatherWrite write;
  write.add(std::string_view("HTTP/1.1 200 OK\r\n"));
  write.add(std::string_view("\r\n"));
  write.add(std::string_view("body"));
  boost::system::error_code ec;
  CHECK(write.send_now(pair.a, deadline, std::chrono::seconds(5), ec));
  CHECK_FALSE(ec);
  CHECK(write.empty());
  CHECK(deadline.at != Clock::time_point::max());
  CHECK(pair.read_b(23) == "HTTP/1.1 200 OK\r\n\r\nbody");
}

TEST_CASE("a buffered Content-Length body goes out with its header in one write") {
  SocketPair pair;
  HeaderArena arena;
  std::optional<ResponseParser> parser;
  boost::beast::flat_buffer buffer;
  parse_header(parser, arena, buffer, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  REQUIRE(body_is_buffered(*parser, buffer));
  RelayBuffer relay_buffer;
  Deadline deadline;
  RelayResult result;
  GatherWrite rest;
  const std::string head = "HEAD\r\n\r\n";
  REQUIRE(relay_buffered_body<false>(*parser, buffer, pair.a, Framing::content_length, head, relay_buffer,
                                     deadline, std::chrono::seconds(5), result, rest));
  CHECK_FALSE(result.ec);
  CHECK(result.bytes == 5);
  CHECK(rest.empty());
  CHECK(parser->is_done());
  CHECK(buffer.size() == 0);
  CHECK(pair.read_b(13) == "HEAD\r\n\r\nhello");
}

TEST_CASE("the buffered-body fast path declines what relay_body must stream") {
  SocketPair pair;
  HeaderArena arena;
  RelayBuffer relay_buffer;
  Deadline deadline;
  RelayResult result;
  GatherWrite rest;
  SUBCASE("part of the body is still to come") {
    std::optional<ResponseParser> parser;
    boost::beast::flat_buffer buffer;
    parse_header(parser, arena, buffer, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    CHECK_FALSE(body_is_buffered(*parser, buffer));
    CHECK_FALSE(relay_buffered_body<false>(*parser, buffer, pair.a, Framing::content_length, "", relay_buffer,
                                           deadline, std::chrono::seconds(5), result, rest));
    CHECK(buffer.size() == 5);  // untouched for relay_body
  }
  SUBCASE("a chunked body") {
    std::optional<ResponseParser> parser;
    boost::beast::flat_buffer buffer;
    parse_header(parser, arena, buffer,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    CHECK_FALSE(body_is_buffered(*parser, buffer));
  }
  SUBCASE("re-chunked output") {
    std::optional<ResponseParser> parser;
    boost::beast::flat_buffer buffer;
    parse_header(parser, arena, buffer, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    CHECK_FALSE(relay_buffered_body<false>(*parser, buffer, pair.a, Framing::chunked, "", relay_buffer,
                                           deadline, std::chrono::seconds(5), result, rest));
  }
}
