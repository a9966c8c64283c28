// What differs between SQLite and PostgreSQL for SociUserStore: opening a
// session, the two column types SQLAlchemy maps per dialect, how timestamps are
// bound, catalog lookups, and how errors are classified. Everything else (every
// query and the DDL around these types) is shared in soci_user_store.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace soci {
class session;
class soci_error;
}  // namespace soci

namespace doorman::authcore {

class SqlDialect {
 public:
  virtual ~SqlDialect() = default;

  static std::unique_ptr<SqlDialect> for_kind(config::DatabaseKind kind);

  // Connects `sql` and applies per-session settings; throws soci::soci_error.
  virtual void open(soci::session& sql, const std::string& connection) const = 0;

  // SQLAlchemy's GUID and DateTime(timezone=True) on this dialect.
  virtual const char* id_type() const = 0;
  virtual const char* timestamp_type() const = 0;

  // A point in time as a bind parameter for `created_at`, in the form this
  // dialect stores or compares correctly.
  virtual std::string timestamp_param(std::chrono::system_clock::time_point tp) const = 0;

  // An SQL expression giving `column` (a timestamp) as utc_timestamp_text() writes it.
  virtual std::string utc_timestamp_text_of(const char* column) const = 0;

  // Whether a table or index ("table" / "index") of that name exists in the current schema.
  virtual bool object_exists(soci::session& sql, const std::string& type, const std::string& name) const = 0;

  // Whether `id` can be a stored id at all. A native UUID column refuses other
  // text with an error; such an id simply matches no row.
  virtual bool can_hold_id(const std::string& id) const = 0;

  virtual bool is_unique_violation(const soci::soci_error& e) const = 0;

  // After a failed statement: whether the session's connection is gone (and a
  // reconnect, not the statement, is what would help).
  virtual bool connection_lost(soci::session& sql) const = 0;
};

// `created_at` as SQLAlchemy writes a naive UTC DateTime on SQLite:
// "YYYY-MM-DD HH:MM:SS.ffffff", fixed width so text order is time order.
std::string utc_timestamp_text(std::chrono::system_clock::time_point tp);
// The inverse: "YYYY-MM-DD HH:MM:SS" (or with a `T`), up to six fraction
// digits, and an optional UTC suffix ("Z", "+00", "+00:00"); nullopt for
// anything else, including another zone.
std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp_text(std::string_view text);

}  // namespace doorman::authcore
