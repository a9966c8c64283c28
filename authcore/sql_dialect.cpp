// SqlDialect for SQLite (WAL file, CHAR(36) ids, naive UTC text timestamps) and
// PostgreSQL (native UUID, TIMESTAMP WITH TIME ZONE, SQLSTATE error codes).
#include "authcore/sql_dialect.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string_view>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <sqlite3.h>

namespace doorman::authcore {

std::string utc_timestamp_text(std::chrono::system_clock::time_point tp) {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(tp);
  const auto secs = std::chrono::floor<std::chrono::seconds>(micros);
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>((micros - secs).count()));
  return buf;
}

namespace {

// `width` decimal digits at text[pos], as a number; nullopt if any is not a digit.
std::optional<int> digits_at(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp_text(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DD?HH:MM:SS, then the fraction and the zone.
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const auto y = digits_at(text, 0, 4), mo = digits_at(text, 5, 2), d = digits_at(text, 8, 2);
  const auto h = digits_at(text, 11, 2), mi = digits_at(text, 14, 2), s = digits_at(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  const year_month_day date{year(*y), month(static_cast<unsigned>(*mo)), day(static_cast<unsigned>(*d))};
  if (!date.ok()) return std::nullopt;
  std::string_view rest = text.substr(19);
  long long micros = 0;
  if (!rest.empty() && rest.front() == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    const std::size_t digits = n - 1;
    if (digits == 0 || digits > 6) return std::nullopt;
    micros = *digits_at(rest, 1, digits);
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
    rest.remove_prefix(n);
  }
  if (!rest.empty() && rest != "Z" && rest != "+00" && rest != "+00:00") return std::nullopt;
  return system_clock::time_point(sys_days(date)) + hours(*h) + minutes(*mi) + seconds(*s) +
         microseconds(micros);
}

namespace {

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  return std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

class SqliteDialect final : public SqlDialect {
 public:
  void open(soci::session& sql, const std::string& path) const override {
    // SOCI splits its connection string on spaces: quote the path (SOCI has no
    // escape for a quote inside one, so such a path is refused at startup).
    if (path.find('"') != std::string::npos) throw soci::soci_error("the SQLite path must not contain '\"'");
    sql.open(soci::sqlite3, "db=\"" + path + "\" timeout=5");
    std::string mode;
    sql << "PRAGMA journal_mode=WAL", soci::into(mode);
    sql << "PRAGMA busy_timeout=5000";
    sql << "PRAGMA foreign_keys=ON";
  }

  const char* id_type() const override { return "CHAR(36)"; }
  const char* timestamp_type() const override { return "TIMESTAMP"; }

  // SQLite compares text: the exact form SQLAlchemy stores.
  std::string timestamp_param(std::chrono::system_clock::time_point tp) const override {
    return utc_timestamp_text(tp);
  }

  std::string utc_timestamp_text_of(const char* column) const override { return column; }

  bool object_exists(soci::session& sql, const std::string& type, const std::string& name) const override {
    int count = 0;
    sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = :t AND name = :n", soci::into(count),
        soci::use(type), soci::use(name);
    return count > 0;
  }

  bool can_hold_id(const std::string&) const override { return true; }

  bool is_unique_violation(const soci::soci_error& e) const override {
    const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e);
    // Primary code only: NOT NULL and foreign key failures share SQLITE_CONSTRAINT.
    return lite != nullptr && (lite->result() & 0xff) == SQLITE_CONSTRAINT &&
           contains_ignoring_case(e.what(), "unique");
  }

  // A file does not go away between statements.
  bool connection_lost(soci::session&) const override { return false; }
};

class PostgresqlDialect final : public SqlDialect {
 public:
  void open(soci::session& sql, const std::string& connection) const override {
    // libpq waits forever for an unreachable host by default, which would hold a
    // blocking-pool thread per reconnect attempt; the URL's own connect_timeout
    // comes later in the string and wins.
    sql.open(soci::postgresql, "connect_timeout=5 " + connection);
  }

  const char* id_type() const override { return "UUID"; }
  const char* timestamp_type() const override { return "TIMESTAMP WITH TIME ZONE"; }

  // Explicit +00: text without a zone would be read in the session's TimeZone.
  std::string timestamp_param(std::chrono::system_clock::time_point tp) const override {
    return utc_timestamp_text(tp) + "+00";
  }

  // Whatever the session's TimeZone, in UTC and to the microsecond.
  std::string utc_timestamp_text_of(const char* column) const override {
    return std::string("to_char(") + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";
  }

  bool object_exists(soci::session& sql, const std::string& type, const std::string& name) const override {
    int count = 0;
    if (type == "table") {
      sql << "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
             "AND table_name = :n",
          soci::into(count), soci::use(name);
    } else {
      sql << "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :n",
          soci::into(count), soci::use(name);
    }
    return count > 0;
  }

  // The hyphenated 8-4-4-4-12 form ids are written in (PostgreSQL would also
  // parse other spellings, which doorman never hands out).
  bool can_hold_id(const std::string& id) const override {
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
      const bool hyphen_at = i == 8 || i == 13 || i == 18 || i == 23;
      if (hyphen_at ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
    }
    return true;
  }

  bool is_unique_violation(const soci::soci_error& e) const override {
    const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e);
    return pg != nullptr && pg->sqlstate() == "23505";
  }

  // SOCI asks libpq first, which marks a connection bad once it has seen the
  // socket closed; only a connection still marked good costs a round trip,
  // and only on this failure path.
  bool connection_lost(soci::session& sql) const override { return !sql.is_connected(); }
};

}  // namespace

std::unique_ptr<SqlDialect> SqlDialect::for_kind(config::DatabaseKind kind) {
  if (kind == config::DatabaseKind::sqlite) return std::make_unique<SqliteDialect>();
  return std::make_unique<PostgresqlDialect>();
}

}  // namespace doorman::authcore
