// Tests for proxy/header_arena.hpp: parsers built on the arena parse like
// default ones, headers larger than the inline buffer spill and still parse,
// and the arena is reused from one message to the next.
#include "proxy/header_arena.hpp"

#include <doctest/doctest.h>

#include <boost/asio/buffer.hpp>

#include <optional>
#include <string>

using doorman::proxy::emplace_parser;
using doorman::proxy::HeaderArena;
using doorman::proxy::RequestParser;
namespace http = boost::beast::http;

namespace {

void parse(RequestParser& parser, const std::string& text) {
  boost::system::error_code ec;
  parser.eager(true);
  const auto used = parser.put(boost::asio::buffer(text), ec);
  REQUIRE_FALSE(ec);
  CHECK(used == text.size());
  CHECK(parser.is_done());
}

}  // namespace

TEST_CASE("a request parsed on the arena keeps its fields") {
  HeaderArena arena;
  std::optional<RequestParser> parser;
  emplace_parser(parser, arena);
  parse(*parser, "GET /a?b=c HTTP/1.1\r\nHost: example\r\nAuthorization: Bearer t\r\nX-Custom: 1\r\n\r\n");
  const auto& request = parser->get();
  CHECK(request.target() == "/a?b=c");
  CHECK(request[http::field::host] == "example");
  CHECK(request[http::field::authorization] == "Bearer t");
  CHECK(request["x-custom"] == "1");
}

TEST_CASE("a header larger than the inline buffer spills and still parses") {
  HeaderArena arena;
  std::optional<RequestParser> parser;
  emplace_parser(parser, arena);
  const std::string cookie(3 * HeaderArena::kInlineBytes, 'c');
  parse(*parser, "GET / HTTP/1.1\r\nHost: h\r\nCookie: " + cookie + "\r\nX-After: yes\r\n\r\n");
  CHECK(parser->get()[http::field::cookie] == cookie);
  CHECK(parser->get()["x-after"] == "yes");
}

TEST_CASE("the next message starts the arena over") {
  HeaderArena arena;
  std::optional<RequestParser> parser;
  for (int i = 0; i < 100; ++i) {
    emplace_parser(parser, arena);
    const std::string value(i * 50, 'v');
    parse(*parser, "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nX-V: " + value + "\r\n\r\n");
    CHECK(parser->get().target() == "/" + std::to_string(i));
    CHECK(parser->get()["x-v"] == value);
  }
}
