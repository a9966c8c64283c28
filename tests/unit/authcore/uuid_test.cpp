// Tests for authcore/uuid.cpp: v4 generation and Python uuid.UUID(str) parsing.
#include "authcore/uuid.hpp"

#include <set>

#include <doctest/doctest.h>

using namespace doorman::authcore;

TEST_CASE("new_uuid4 is a lowercase hyphenated version 4 UUID, unique") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = new_uuid4();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[18] == '-');
    CHECK(id[23] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    CHECK(parse_uuid(id).value() == id);
    seen.insert(id);
  }
  CHECK(seen.size() == 200);
}

// Expected values checked against CPython: str(uuid.UUID(text)).
TEST_CASE("parse_uuid accepts what Python uuid.UUID accepts") {
  const std::string canon = "9283b342-9a83-4503-9771-9cf8129482aa";
  const struct {
    const char* text;
    const char* expected;
  } ok[] = {
      {"9283b342-9a83-4503-9771-9cf8129482aa", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"9283B342-9A83-4503-9771-9CF8129482AA", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"9283b3429a83450397719cf8129482aa", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"{9283b342-9a83-4503-9771-9cf8129482aa}", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"{{9283b342-9a83-4503-9771-9cf8129482aa}", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"urn:uuid:9283b342-9a83-4503-9771-9cf8129482aa", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"uuid:9283b342-9a83-4503-9771-9cf8129482aa", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"9283b342-9a83urn:-4503-9771-9cf8129482aa", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"9-2-8-3b3429a83450397719cf8129482aa-", "9283b342-9a83-4503-9771-9cf8129482aa"},
      {"urn:{9283b342-9a83-4503-9771-9cf8129482aa}", "9283b342-9a83-4503-9771-9cf8129482aa"},
      // int(x, 16) quirks: 0x prefix, '+', surrounding whitespace, single underscores.
      {"0x83b342-9a83-4503-9771-9cf8129482aa", "0083b342-9a83-4503-9771-9cf8129482aa"},
      {"+283b342-9a83-4503-9771-9cf8129482aa", "0283b342-9a83-4503-9771-9cf8129482aa"},
      {" 283b342-9a83-4503-9771-9cf8129482aa", "0283b342-9a83-4503-9771-9cf8129482aa"},
      {"283b342-9a83-4503-9771-9cf8129482aa\n", "0283b342-9a83-4503-9771-9cf8129482aa"},
      {"9_83b342-9a83-4503-9771-9cf8129482aa", "0983b342-9a83-4503-9771-9cf8129482aa"},
      {"0x_3b342-9a83-4503-9771-9cf8129482aa", "0003b342-9a83-4503-9771-9cf8129482aa"},
      {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
  };
  for (const auto& c : ok) {
    CAPTURE(c.text);
    const auto parsed = parse_uuid(c.text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.expected);
  }
}

TEST_CASE("parse_uuid refuses what Python uuid.UUID refuses") {
  const char* bad[] = {
      "",
      "not-a-uuid",
      "9283b342-9a83-4503-9771-9cf8129482a",            // 31 digits
      "9283b342-9a83-4503-9771-9cf8129482aaa",          // 33 digits
      "9283b342-9a83-4503-9771-9cf8129482ag",           // non-hex
      "URN:UUID:9283b342-9a83-4503-9771-9cf8129482aa",  // prefixes are case-sensitive
      "(9283b342-9a83-4503-9771-9cf8129482aa)",
      "9283b342 9a83 4503 9771 9cf8129482aa",
      "_283b342-9a83-4503-9771-9cf8129482aa",
      "283b342-9a83-4503-9771-9cf8129482aa_",
      "9__3b342-9a83-4503-9771-9cf8129482aa",
      "0x__b342-9a83-4503-9771-9cf8129482aa",
      "+ 83b342-9a83-4503-9771-9cf8129482aa",
      "0x                              ",
      "{}",
      "9283b342-9a83-4503-9771-9cf8129482\xc3\xa9",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(parse_uuid(text).has_value());
  }
}
