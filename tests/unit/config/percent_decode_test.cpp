// Tests for config/percent_decode.cpp: %XX in either case becomes its byte, other
// bytes pass through, and a cut or non-hex escape is refused.
#include "config/percent_decode.hpp"

#include <doctest/doctest.h>

#include <string>

using doorman::config::percent_decode;

TEST_CASE("escapes decode in either case, other bytes pass through") {
  std::string out = "stale";
  CHECK(percent_decode("p%40ss%2fw%2Frd+x", out));
  CHECK(out == "p@ss/w/rd+x");
  CHECK(percent_decode("", out));
  CHECK(out.empty());
  CHECK(percent_decode("a%00b", out));
  CHECK(out == std::string("a\0b", 3));
}

TEST_CASE("a cut or non-hex escape is refused") {
  std::string out;
  CHECK_FALSE(percent_decode("abc%", out));
  CHECK_FALSE(percent_decode("abc%4", out));
  CHECK_FALSE(percent_decode("%zz", out));
  CHECK_FALSE(percent_decode("%4g", out));
}
