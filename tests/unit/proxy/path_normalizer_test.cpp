// Tests for proxy/path_normalizer.cpp: the examples of DESIGN.md §4 and the
// refusals that keep a rule and the upstream from seeing different paths.
#include "proxy/path_normalizer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <iterator>
#include <string>

using doorman::proxy::normalize_target;

namespace {

struct Case {
  const char* target;
  const char* path;  // nullptr: refused
};

void check(const Case& c) {
  CAPTURE(std::string(c.target));
  const auto got = normalize_target(c.target);
  if (c.path == nullptr) {
    CHECK_FALSE(got.has_value());
  } else {
    REQUIRE(got.has_value());
    CHECK(got->path == c.path);
  }
}

}  // namespace

TEST_CASE("normalize_target: dot segments and slashes") {
  const Case cases[] = {
      {"/", "/"},
      {"/public/../admin/x", "/admin/x"},
      {"//admin/x", "/admin/x"},
      {"///admin///x", "/admin/x"},
      {"/a/./b", "/a/b"},
      {"/a/b/..", "/a/"},
      {"/a/b/.", "/a/b/"},
      {"/..", "/"},
      {"/../../x", "/x"},
      {"/.", "/"},
      {"/admin/", "/admin/"},
      {"/admin", "/admin"},
      {"/admin//", "/admin/"},
      {"/a/..b/c", "/a/..b/c"},
      {"/a/.../c", "/a/.../c"},
      {"/a//../b", "/b"},
      {"/public/..", "/"},
  };
  for (const auto& c : cases) check(c);
}

TEST_CASE("normalize_target: percent decoding") {
  const Case cases[] = {
      {"/%7Euser", "/~user"},
      {"/%7euser", "/~user"},
      {"/caf%c3%a9", "/caf%C3%A9"},
      {"/%41%62%2D%5f%2E", "/Ab-_."},
      {"/%2e%2e/admin", "/admin"},
      {"/public/%2E%2E/admin", "/admin"},
      {"/public/.%2e/admin", "/admin"},
      {"/a%20b", "/a%20b"},
      {"/%25", "/%25"},
      {"/%252e%252e/admin", "/%252e%252e/admin"},  // no double decoding
      {"/a%3fb", "/a%3Fb"},                        // an encoded '?' stays in the path
  };
  for (const auto& c : cases) check(c);
}

TEST_CASE("normalize_target: refusals") {
  const Case cases[] = {
      {"", nullptr},       {"*", nullptr},      {"http://example.com/admin", nullptr},
      {"admin", nullptr},  {"/a%2Fb", nullptr}, {"/a%2fb", nullptr},
      {"/a%5cb", nullptr}, {"/a%5Cb", nullptr}, {"/a%00", nullptr},
      {"/a\\b", nullptr},  {"/a%", nullptr},    {"/a%4", nullptr},
      {"/a%zz", nullptr},  {"/a%4g", nullptr},  {"/a#frag", nullptr},
      {"/a\tb", nullptr},  {"/a\x7f", nullptr},
  };
  for (const auto& c : cases) check(c);
  CHECK_FALSE(normalize_target(std::string("/a\0b", 4)).has_value());
  CHECK_FALSE(normalize_target("/x?a=\r\n").has_value());
}

TEST_CASE("normalize_target: the query is kept as sent") {
  auto t = normalize_target("/x?y=../z");
  REQUIRE(t);
  CHECK(t->path == "/x");
  CHECK(t->has_query);
  CHECK(t->query == "y=../z");
  CHECK(t->target() == "/x?y=../z");

  t = normalize_target("/a/../b?q=%2f%2e&r=\\");
  REQUIRE(t);
  CHECK(t->path == "/b");
  CHECK(t->query == "q=%2f%2e&r=\\");
  CHECK(t->target() == "/b?q=%2f%2e&r=\\");

  t = normalize_target("/x?");
  REQUIRE(t);
  CHECK(t->has_query);
  CHECK(t->query.empty());
  CHECK(t->target() == "/x?");

  t = normalize_target("/x?a?b");
  REQUIRE(t);
  CHECK(t->query == "a?b");

  t = normalize_target("/x");
  REQUIRE(t);
  CHECK_FALSE(t->has_query);
  CHECK(t->target() == "/x");
}

TEST_CASE("normalize_target: idempotent") {
  for (const char* target : {"/public/../admin/x", "/caf%c3%a9", "/%7Euser/./a//b/", "/a/b/.."}) {
    CAPTURE(std::string(target));
    const auto once = normalize_target(target);
    REQUIRE(once);
    const auto twice = normalize_target(once->target());
    REQUIRE(twice);
    CHECK(twice->path == once->path);
  }
}

TEST_CASE("normalize_target: properties over generated targets") {
  // A fixed-seed generator over the characters that matter, so failures reproduce.
  const std::string alphabet[] = {"/",   "/",   ".",      "..", "a",  "%2e", "%2E", "%2f", "%5c",
                                  "%00", "%41", "%c3%a9", "%",  "\\", "?",   "~",   "%7e", "%zz"};
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (int n = 0; n < 5000; ++n) {
    std::string target = "/";
    const auto length = next() % 12;
    for (std::uint32_t i = 0; i < length; ++i) target += alphabet[next() % std::size(alphabet)];
    CAPTURE(target);
    const auto t = normalize_target(target);
    if (!t) continue;
    const std::string& p = t->path;
    REQUIRE(!p.empty());
    CHECK(p.front() == '/');
    CHECK(p.find("//") == std::string::npos);
    CHECK(p.find("/./") == std::string::npos);
    CHECK(p.find("/../") == std::string::npos);
    CHECK_FALSE(p.ends_with("/."));
    CHECK_FALSE(p.ends_with("/.."));
    CHECK(p.find('\\') == std::string::npos);
    const auto again = normalize_target(t->target());
    REQUIRE(again);
    CHECK(again->path == p);
    CHECK(again->query == t->query);
  }
}

TEST_CASE("normalize_target: a path that is already normal comes back as sent") {
  const Case cases[] = {
      {"/bench", "/bench"},
      {"/api/v1/users/42", "/api/v1/users/42"},
      {"/a/b/", "/a/b/"},
      {"/a.b/c..d/e.", "/a.b/c..d/e."},
      {"/.well-known/x", "/.well-known/x"},
      {"/caf\xc3\xa9", "/caf\xc3\xa9"},
  };
  for (const auto& c : cases) check(c);
}

TEST_CASE("normalize_target: its output is a fixed point") {
  // Every path over a small alphabet, up to six characters: normalizing a
  // normalized path must change nothing, whichever way it is taken.
  const char alphabet[] = {'/', '.', 'a', '%', '2', 'e'};
  std::string path;
  for (std::size_t length = 1; length <= 6; ++length) {
    std::size_t combinations = 1;
    for (std::size_t i = 0; i < length; ++i) combinations *= std::size(alphabet);
    for (std::size_t n = 0; n < combinations; ++n) {
      path.assign("/");
      for (std::size_t i = 0, rest = n; i < length; ++i, rest /= std::size(alphabet)) {
        path.push_back(alphabet[rest % std::size(alphabet)]);
      }
      const auto once = normalize_target(path);
      if (!once) continue;
      const auto twice = normalize_target(once->path);
      CAPTURE(path);
      REQUIRE(twice.has_value());
      CHECK(twice->path == once->path);
    }
  }
}
