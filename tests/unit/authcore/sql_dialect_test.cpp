// The SQLite text form of timestamps (utc_timestamp_text) and its inverse
// (parse_utc_timestamp_text): what the database strategy reads `created_at` with.
#include "authcore/sql_dialect.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono;
using doorman::authcore::parse_utc_timestamp_text;
using doorman::authcore::utc_timestamp_text;

const auto kCreated =
    sys_days{year{2026} / 11 / 23} + hours(10) + minutes(29) + seconds(45) + microseconds(425540);

}  // namespace

TEST_CASE("utc_timestamp_text writes SQLAlchemy's form, and parse_utc_timestamp_text reads it back exactly") {
  CHECK(utc_timestamp_text(kCreated) == "2026-11-23 10:29:45.425540");
  CHECK(parse_utc_timestamp_text("2026-11-23 10:29:45.425540") == kCreated);
  const auto now = floor<microseconds>(system_clock::now());
  CHECK(parse_utc_timestamp_text(utc_timestamp_text(now)) == now);
}

TEST_CASE("parse_utc_timestamp_text: fewer fraction digits, a T, and UTC suffixes") {
  const auto whole = sys_days{year{2026} / 11 / 23} + hours(10) + minutes(29) + seconds(45);
  CHECK(parse_utc_timestamp_text("2026-11-23 10:29:45") == whole);
  CHECK(parse_utc_timestamp_text("2026-11-23T10:29:45.4") == whole + milliseconds(400));
  CHECK(parse_utc_timestamp_text("2026-11-23 10:29:45.425540+00") == kCreated);
  CHECK(parse_utc_timestamp_text("2026-11-23 10:29:45.425540+00:00") == kCreated);
  CHECK(parse_utc_timestamp_text("2026-11-23T10:29:45.425540Z") == kCreated);
  CHECK(parse_utc_timestamp_text("1970-01-01 00:00:00") == system_clock::time_point{});
}

TEST_CASE("parse_utc_timestamp_text refuses anything else, including other zones") {
  for (const char* bad :
       {"", "2026-11-23", "2026-11-23 10:29", "2026/11/23 10:29:45", "2026-11-23 10:29:45.",
        "2026-11-23 10:29:45.1234567", "2026-11-23 10:29:45+01:00", "2026-11-23 10:29:45 ",
        "2026-02-30 10:29:45", "2026-13-01 10:29:45", "2026-11-23 24:00:00", "2026-11-23 10:60:00",
        "2026-11-23 10:29:60", "20x6-11-23 10:29:45", "2026-11-23 10:29:45.42x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_utc_timestamp_text(bad).has_value());
  }
}
