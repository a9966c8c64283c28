// Tests for proxy/access_log.cpp: the field set and order of DESIGN.md §10,
// nulls, timestamps, and that hostile paths still give one valid JSON line.
#include "proxy/access_log.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using doorman::proxy::AccessLogEntry;
using doorman::proxy::format_access_log;

namespace {

std::chrono::system_clock::time_point at(int y, unsigned m, unsigned d, int h, int min, int s, int ms) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min} + seconds{s} + milliseconds{ms};
}

}  // namespace

TEST_CASE("format_access_log: a forwarded request") {
  AccessLogEntry entry;
  entry.time = at(2024, 5, 1, 12, 3, 4, 56) + std::chrono::microseconds(789);
  entry.method = "GET";
  entry.path = "/api/items";
  entry.status = 200;
  entry.user_id = "8f3c1f2e-0000-4000-8000-000000000001";
  entry.backend = "jwt";
  entry.upstream_ms = 1.2345;
  entry.total_ms = 1.5;
  entry.client = "10.0.0.7";
  CHECK(format_access_log(entry) ==
        "{\"time\":\"2024-05-01T12:03:04.056Z\",\"method\":\"GET\",\"path\":\"/api/items\",\"status\":200,"
        "\"user_id\":\"8f3c1f2e-0000-4000-8000-000000000001\",\"backend\":\"jwt\",\"upstream_ms\":1.234,"
        "\"total_ms\":1.500,\"client\":\"10.0.0.7\"}\n");
}

TEST_CASE("format_access_log: nulls for no user, no backend, not forwarded") {
  AccessLogEntry entry;
  entry.time = at(1999, 12, 31, 23, 59, 59, 999);
  entry.method = "POST";
  entry.path = "/auth/jwt/login";
  entry.status = 400;
  entry.total_ms = 0.0421;
  entry.client = "::1";
  const auto line = format_access_log(entry);
  CHECK(line ==
        "{\"time\":\"1999-12-31T23:59:59.999Z\",\"method\":\"POST\",\"path\":\"/auth/jwt/"
        "login\",\"status\":400,"
        "\"user_id\":null,\"backend\":null,\"upstream_ms\":null,\"total_ms\":0.042,\"client\":\"::1\"}\n");
  const auto json = nlohmann::json::parse(line);
  CHECK(json["user_id"].is_null());
  CHECK(json["upstream_ms"].is_null());
  CHECK(json["total_ms"].get<double>() == doctest::Approx(0.042));
}

TEST_CASE("format_access_log: hostile strings stay one valid JSON line") {
  AccessLogEntry entry;
  entry.time = at(2024, 2, 29, 0, 0, 0, 0);
  entry.method = "G\"ET";
  const std::string path = "/a\"b\\c\nd\x01\x7f/caf\xc3\xa9/\xff\xc3/\xed\xa0\x80/\xf0\x9f\x98\x80";
  entry.path = path;
  entry.status = 404;
  entry.user_id = "x\ny";
  entry.total_ms = -1;  // a clock step back never gives a negative duration in the log
  entry.upstream_ms = std::nan("");
  entry.client = "1.2.3.4";
  const auto line = format_access_log(entry);
  CHECK(line.find('\n') == line.size() - 1);
  const auto json = nlohmann::json::parse(line);  // throws on invalid JSON or UTF-8
  CHECK(json["time"] == "2024-02-29T00:00:00.000Z");
  CHECK(json["method"] == "G\"ET");
  CHECK(json["path"] ==
        "/a\"b\\c\nd\x01\x7f/caf\xc3\xa9/\xef\xbf\xbd\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/"
        "\xf0\x9f\x98\x80");
  CHECK(json["user_id"] == "x\ny");
  CHECK(json["total_ms"].get<double>() == 0.0);
  CHECK(json["upstream_ms"].is_null());
  CHECK(json["status"] == 404);
}

TEST_CASE("format_access_log: field order") {
  AccessLogEntry entry;
  const auto line = format_access_log(entry);
  const char* fields[] = {"\"time\"",    "\"method\"",      "\"path\"",     "\"status\"", "\"user_id\"",
                          "\"backend\"", "\"upstream_ms\"", "\"total_ms\"", "\"client\""};
  std::size_t previous = 0;
  for (const char* field : fields) {
    const auto at_field = line.find(field);
    REQUIRE(at_field != std::string::npos);
    CHECK(at_field >= previous);
    previous = at_field;
  }
  CHECK(line.starts_with("{\"time\":\"1970-01-01T00:00:00.000Z\""));
}
