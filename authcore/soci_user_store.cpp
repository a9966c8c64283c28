// SociUserStore: the `user`, `oauth_account` and `accesstoken` tables of
// fastapi-users-db-sqlalchemy over a fixed SOCI session pool, and their migration.
#include "authcore/soci_user_store.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <utility>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <sqlite3.h>

namespace doorman::authcore {
namespace {

using config::DatabaseKind;

// Booleans go through CAST so the same statements read and write SQLite's 0/1
// and PostgreSQL's BOOLEAN.
constexpr const char* kUserColumns =
    "id, email, hashed_password, CAST(is_active AS INTEGER), CAST(is_superuser AS INTEGER), "
    "CAST(is_verified AS INTEGER)";

struct UserRow {
  std::string id;
  std::string email;
  std::string hashed_password;
  int is_active = 0;
  int is_superuser = 0;
  int is_verified = 0;

  User to_user() const {
    return User{id, email, hashed_password, is_active != 0, is_superuser != 0, is_verified != 0};
  }
};

// `created_at` exactly as SQLAlchemy writes a naive UTC DateTime on SQLite:
// fixed width, so text comparison orders it like time.
std::string timestamp_text(std::chrono::system_clock::time_point tp) {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(tp);
  const auto secs = std::chrono::floor<std::chrono::seconds>(micros);
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];  // room for any int values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>((micros - secs).count()));
  return buf;
}

// SOCI splits its connection string on spaces: quote the path (SOCI has no
// escape for a quote inside one, so such a path is refused at startup).
std::string sqlite_connect_string(const std::string& path) {
  if (path.find('"') != std::string::npos) throw std::runtime_error("the SQLite path must not contain '\"'");
  return "db=\"" + path + "\" timeout=5";
}

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  return std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

bool is_unique_violation(const soci::soci_error& e) {
  if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    // Primary code only: NOT NULL and foreign key failures share SQLITE_CONSTRAINT.
    return (lite->result() & 0xff) == SQLITE_CONSTRAINT && contains_ignoring_case(e.what(), "unique");
  }
  // PostgreSQL's backend classifies its errors ("duplicate key value violates unique constraint").
  return e.get_error_category() == soci::soci_error::constraint_violation && contains_ignoring_case(e.what(), "unique");
}

// Runs one store operation, mapping database failures to StoreError (the request
// path takes no exceptions; callers decide what to log).
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const soci::soci_error& e) {
    return is_unique_violation(e) ? StoreError::duplicate_email : StoreError::unavailable;
  } catch (const std::exception&) {
    return StoreError::unavailable;
  }
}

// Every row of `SELECT <user columns> FROM "user" <tail>`, with an optional text parameter.
std::vector<User> select_users(soci::session& sql, const std::string& tail, const std::string* param) {
  UserRow row;
  soci::statement st(sql);
  st.exchange(soci::into(row.id));
  st.exchange(soci::into(row.email));
  st.exchange(soci::into(row.hashed_password));
  st.exchange(soci::into(row.is_active));
  st.exchange(soci::into(row.is_superuser));
  st.exchange(soci::into(row.is_verified));
  if (param != nullptr) st.exchange(soci::use(*param));
  st.alloc();
  st.prepare(std::string("SELECT ") + kUserColumns + " FROM \"user\" " + tail);
  st.define_and_bind();
  std::vector<User> users;
  if (st.execute(true)) {
    do {
      users.push_back(row.to_user());
    } while (st.fetch());
  }
  return users;
}

std::optional<User> first(std::vector<User> users) {
  if (users.empty()) return std::nullopt;
  return std::move(users.front());
}

}  // namespace

struct SociUserStore::Impl {
  DatabaseKind kind;
  soci::connection_pool pool;
  // remove() deletes OAuth accounts explicitly only where the table exists: an
  // unmigrated fastapi-users database without OAuth has none.
  std::atomic<bool> has_oauth_table{false};

  Impl(DatabaseKind k, std::size_t size) : kind(k), pool(size) {}

  bool exists(soci::session& sql, const std::string& type, const std::string& name) const {
    int count = 0;
    if (kind == DatabaseKind::sqlite) {
      sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = :t AND name = :n", soci::into(count), soci::use(type),
          soci::use(name);
    } else if (type == "table") {
      sql << "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
             "AND table_name = :n",
          soci::into(count), soci::use(name);
    } else {
      sql << "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :n",
          soci::into(count), soci::use(name);
    }
    return count > 0;
  }

  // The column types that differ between the two dialects (SQLAlchemy's GUID and DateTime(timezone=True)).
  std::string id_type() const { return kind == DatabaseKind::sqlite ? "CHAR(36)" : "UUID"; }
  std::string timestamp_type() const {
    return kind == DatabaseKind::sqlite ? "TIMESTAMP" : "TIMESTAMP WITH TIME ZONE";
  }
};

SociUserStore::SociUserStore(const config::DatabaseConfig& db) {
  const auto pool_size = static_cast<std::size_t>(std::max(1, db.pool_size));
  impl_ = std::make_unique<Impl>(db.kind, pool_size);
  try {
    for (std::size_t i = 0; i < pool_size; ++i) {
      soci::session& sql = impl_->pool.at(i);
      if (db.kind == DatabaseKind::sqlite) {
        sql.open(soci::sqlite3, sqlite_connect_string(db.connection));
        std::string mode;
        sql << "PRAGMA journal_mode=WAL", soci::into(mode);
        sql << "PRAGMA busy_timeout=5000";
        sql << "PRAGMA foreign_keys=ON";
      } else {
        // By name: SOCI loads its PostgreSQL backend at run time, so this file needs no libpq headers.
        sql.open("postgresql", db.connection);
      }
    }
    impl_->has_oauth_table = impl_->exists(impl_->pool.at(0), "table", "oauth_account");
  } catch (const soci::soci_error& e) {
    // The message, not the connection string: it may hold a password.
    throw std::runtime_error("cannot open the database: " + e.get_error_message());
  }
}

SociUserStore::~SociUserStore() = default;

MigrationReport SociUserStore::migrate() {
  MigrationReport report;
  const std::string id_type = impl_->id_type();
  struct Object {
    const char* type;
    const char* name;
    std::string ddl;
  };
  // Column order and names as SQLAlchemy creates them from fastapi-users' mixins.
  const std::vector<Object> objects = {
      {"table", "user",
       "CREATE TABLE IF NOT EXISTS \"user\" (\n"
       "  email VARCHAR(320) NOT NULL,\n"
       "  hashed_password VARCHAR(1024) NOT NULL,\n"
       "  is_active BOOLEAN NOT NULL,\n"
       "  is_superuser BOOLEAN NOT NULL,\n"
       "  is_verified BOOLEAN NOT NULL,\n"
       "  id " + id_type + " NOT NULL,\n"
       "  PRIMARY KEY (id)\n)"},
      {"index", "ix_user_email", "CREATE UNIQUE INDEX IF NOT EXISTS ix_user_email ON \"user\" (email)"},
      {"table", "oauth_account",
       "CREATE TABLE IF NOT EXISTS oauth_account (\n"
       "  oauth_name VARCHAR(100) NOT NULL,\n"
       "  access_token VARCHAR(1024) NOT NULL,\n"
       "  expires_at INTEGER,\n"
       "  refresh_token VARCHAR(1024),\n"
       "  account_id VARCHAR(320) NOT NULL,\n"
       "  account_email VARCHAR(320) NOT NULL,\n"
       "  id " + id_type + " NOT NULL,\n"
       "  user_id " + id_type + " NOT NULL,\n"
       "  PRIMARY KEY (id),\n"
       "  FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade\n)"},
      {"index", "ix_oauth_account_oauth_name",
       "CREATE INDEX IF NOT EXISTS ix_oauth_account_oauth_name ON oauth_account (oauth_name)"},
      {"index", "ix_oauth_account_account_id",
       "CREATE INDEX IF NOT EXISTS ix_oauth_account_account_id ON oauth_account (account_id)"},
      {"table", "accesstoken",
       "CREATE TABLE IF NOT EXISTS accesstoken (\n"
       "  token VARCHAR(43) NOT NULL,\n"
       "  created_at " + impl_->timestamp_type() + " NOT NULL,\n"
       "  user_id " + id_type + " NOT NULL,\n"
       "  PRIMARY KEY (token),\n"
       "  FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade\n)"},
      {"index", "ix_accesstoken_created_at",
       "CREATE INDEX IF NOT EXISTS ix_accesstoken_created_at ON accesstoken (created_at)"},
  };

  try {
    soci::session sql(impl_->pool);
    soci::transaction tx(sql);
    for (const auto& object : objects) {
      if (impl_->exists(sql, object.type, object.name)) continue;
      sql << object.ddl;
      report.actions.push_back(std::string("created ") + object.type + " " + object.name);
    }

    // The unique index on lower(email) is what decides concurrent registrations
    // of one address in two cases; an old database holding such pairs keeps only
    // the exact-string index, and the operator is told which rows clash.
    if (!impl_->exists(sql, "index", "ix_user_email_lower")) {
      std::vector<std::string> clashing;
      std::string email;
      soci::statement st =
          (sql.prepare << "SELECT email FROM \"user\" WHERE lower(email) IN "
                          "(SELECT lower(email) FROM \"user\" GROUP BY lower(email) HAVING COUNT(*) > 1) "
                          "ORDER BY lower(email), email",
           soci::into(email));
      if (st.execute(true)) {
        do {
          clashing.push_back(email);
        } while (st.fetch());
      }
      if (clashing.empty()) {
        sql << "CREATE UNIQUE INDEX IF NOT EXISTS ix_user_email_lower ON \"user\" (lower(email))";
        report.actions.push_back("created index ix_user_email_lower");
      } else {
        std::string names;
        for (const auto& e : clashing) names += (names.empty() ? "" : ", ") + e;
        report.warnings.push_back("user emails differ only in case (" + names +
                                  "): not creating the unique index ix_user_email_lower; lookups stay "
                                  "case-insensitive but two registrations racing on one address in "
                                  "different cases could both succeed until these rows are merged");
      }
    }
    tx.commit();
  } catch (const soci::soci_error& e) {
    throw std::runtime_error("database migration failed: " + e.get_error_message());
  }
  impl_->has_oauth_table = true;
  return report;
}

Result<std::optional<User>, StoreError> SociUserStore::find_by_id(const std::string& id) {
  return guarded([&]() -> Result<std::optional<User>, StoreError> {
    soci::session sql(impl_->pool);
    return first(select_users(sql, "WHERE id = :id", &id));
  });
}

Result<std::optional<User>, StoreError> SociUserStore::find_by_email(const std::string& email) {
  return guarded([&]() -> Result<std::optional<User>, StoreError> {
    soci::session sql(impl_->pool);
    // ORDER BY: an old database may hold case-variants of one address; pick one deterministically.
    return first(select_users(sql, "WHERE lower(email) = lower(:e) ORDER BY email", &email));
  });
}

Result<std::vector<User>, StoreError> SociUserStore::list_users() {
  return guarded([&]() -> Result<std::vector<User>, StoreError> {
    soci::session sql(impl_->pool);
    return select_users(sql, "ORDER BY email", nullptr);
  });
}

Result<User, StoreError> SociUserStore::create(const User& user) {
  return guarded([&]() -> Result<User, StoreError> {
    soci::session sql(impl_->pool);
    const int active = user.is_active, superuser = user.is_superuser, verified = user.is_verified;
    sql << "INSERT INTO \"user\" (id, email, hashed_password, is_active, is_superuser, is_verified) "
           "VALUES (:id, :email, :hash, CAST(:a AS BOOLEAN), CAST(:s AS BOOLEAN), CAST(:v AS BOOLEAN))",
        soci::use(user.id), soci::use(user.email), soci::use(user.hashed_password), soci::use(active),
        soci::use(superuser), soci::use(verified);
    return user;
  });
}

Result<User, StoreError> SociUserStore::update(const User& user) {
  return guarded([&]() -> Result<User, StoreError> {
    soci::session sql(impl_->pool);
    const int active = user.is_active, superuser = user.is_superuser, verified = user.is_verified;
    soci::statement st =
        (sql.prepare << "UPDATE \"user\" SET email = :email, hashed_password = :hash, "
                        "is_active = CAST(:a AS BOOLEAN), is_superuser = CAST(:s AS BOOLEAN), "
                        "is_verified = CAST(:v AS BOOLEAN) WHERE id = :id",
         soci::use(user.email), soci::use(user.hashed_password), soci::use(active), soci::use(superuser),
         soci::use(verified), soci::use(user.id));
    st.execute(true);
    if (st.get_affected_rows() == 0) return StoreError::not_found;
    return user;
  });
}

Result<bool, StoreError> SociUserStore::remove(const std::string& id) {
  return guarded([&]() -> Result<bool, StoreError> {
    soci::session sql(impl_->pool);
    soci::transaction tx(sql);
    // Explicit deletes: an old SQLite database may have been written without
    // foreign key enforcement, so ON DELETE CASCADE cannot be relied on.
    sql << "DELETE FROM accesstoken WHERE user_id = :id", soci::use(id);
    if (impl_->has_oauth_table) sql << "DELETE FROM oauth_account WHERE user_id = :id", soci::use(id);
    soci::statement st = (sql.prepare << "DELETE FROM \"user\" WHERE id = :id", soci::use(id));
    st.execute(true);
    const bool removed = st.get_affected_rows() > 0;
    tx.commit();
    return removed;
  });
}

Result<bool, StoreError> SociUserStore::insert_access_token(const std::string& token, const std::string& user_id,
                                                            std::chrono::system_clock::time_point created_at) {
  return guarded([&]() -> Result<bool, StoreError> {
    soci::session sql(impl_->pool);
    const std::string created = timestamp_text(created_at);
    sql << "INSERT INTO accesstoken (token, created_at, user_id) VALUES (:t, :c, :u)", soci::use(token),
        soci::use(created), soci::use(user_id);
    return true;
  });
}

Result<std::optional<std::string>, StoreError> SociUserStore::find_access_token(
    const std::string& token, std::optional<std::chrono::system_clock::time_point> not_before) {
  return guarded([&]() -> Result<std::optional<std::string>, StoreError> {
    soci::session sql(impl_->pool);
    std::string user_id;
    if (not_before) {
      const std::string limit = timestamp_text(*not_before);
      sql << "SELECT user_id FROM accesstoken WHERE token = :t AND created_at >= :c", soci::into(user_id),
          soci::use(token), soci::use(limit);
    } else {
      sql << "SELECT user_id FROM accesstoken WHERE token = :t", soci::into(user_id), soci::use(token);
    }
    if (!sql.got_data()) return std::optional<std::string>();
    return std::optional<std::string>(user_id);
  });
}

Result<bool, StoreError> SociUserStore::delete_access_token(const std::string& token) {
  return guarded([&]() -> Result<bool, StoreError> {
    soci::session sql(impl_->pool);
    soci::statement st = (sql.prepare << "DELETE FROM accesstoken WHERE token = :t", soci::use(token));
    st.execute(true);
    return st.get_affected_rows() > 0;
  });
}

bool SociUserStore::ping() {
  try {
    soci::session sql(impl_->pool);
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    return one == 1;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace doorman::authcore
