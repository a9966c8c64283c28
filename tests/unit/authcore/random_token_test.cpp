// Tests for authcore/random_token.cpp: opaque token shape and uniqueness.
#include "authcore/random_token.hpp"

#include <set>

#include <doctest/doctest.h>

#include "authcore/base64url.hpp"

using namespace doorman::authcore;

TEST_CASE("opaque tokens are 43 URL-safe chars of 32 random bytes") {
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string token = new_opaque_token();
    CHECK(token.size() == 43);
    CHECK(looks_like_opaque_token(token));
    const auto bytes = base64url_decode(token);
    REQUIRE(bytes.has_value());
    CHECK(bytes->size() == 32);
    seen.insert(token);
  }
  CHECK(seen.size() == 500);
}

TEST_CASE("looks_like_opaque_token checks length and alphabet") {
  CHECK(looks_like_opaque_token("8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI"));  // fastapi-users fixture
  CHECK_FALSE(looks_like_opaque_token(""));
  CHECK_FALSE(looks_like_opaque_token("8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHd"));
  CHECK_FALSE(looks_like_opaque_token("8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdIa"));
  CHECK_FALSE(looks_like_opaque_token("8Z5ygvLK+Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI"));
  CHECK_FALSE(looks_like_opaque_token("8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHd="));
  CHECK_FALSE(looks_like_opaque_token("8Z5ygvLK Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI"));
}

TEST_CASE("random_bytes fills the buffer") {
  unsigned char a[64] = {};
  unsigned char b[64] = {};
  random_bytes(a, sizeof a);
  random_bytes(b, sizeof b);
  CHECK(std::string(reinterpret_cast<char*>(a), sizeof a) !=
        std::string(reinterpret_cast<char*>(b), sizeof b));
}
