// Tests for authcore/base64url.cpp: both alphabets, no padding, strict decode.
#include "authcore/base64url.hpp"

#include <doctest/doctest.h>

using namespace doorman::authcore;

TEST_CASE("base64url encodes RFC 4648 vectors without padding") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode(std::string("\xfb\xff\xfe", 3)) == "-__-");
  CHECK(base64_encode(std::string("\xfb\xff\xfe", 3)) == "+//+");
}

TEST_CASE("base64url decode round-trips every length and byte") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes += static_cast<char>(i * 37 + 11);
    const auto back = base64url_decode(base64url_encode(bytes));
    REQUIRE(back.has_value());
    CHECK(*back == bytes);
    const auto back_std = base64_decode(base64_encode(bytes));
    REQUIRE(back_std.has_value());
    CHECK(*back_std == bytes);
  }
}

TEST_CASE("base64url decode refuses bad characters, padding and impossible lengths") {
  CHECK(base64url_decode("Zm9v").value() == "foo");
  CHECK(base64url_decode("Zg").value() == "f");
  CHECK_FALSE(base64url_decode("Zg==").has_value());  // padding is not accepted
  CHECK_FALSE(base64url_decode("Z").has_value());     // len % 4 == 1
  CHECK_FALSE(base64url_decode("Zm9vY").has_value());
  CHECK_FALSE(base64url_decode("Zm+v").has_value());  // standard alphabet char
  CHECK_FALSE(base64url_decode("Zm/v").has_value());
  CHECK_FALSE(base64url_decode("Zm9 v").has_value());
  CHECK_FALSE(base64url_decode("Zm9v.").has_value());
  CHECK_FALSE(base64url_decode(std::string("Zm\0v", 4)).has_value());
  CHECK_FALSE(base64_decode("-__-").has_value());  // URL-safe chars in the standard alphabet
  CHECK(base64_decode("+//+").value() == std::string("\xfb\xff\xfe", 3));
}
