// SociUserStore: the `user`, `oauth_account` and `accesstoken` tables of
// fastapi-users-db-sqlalchemy over a fixed SOCI session pool, and their migration.
#include "authcore/soci_user_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include <soci/soci.h>

#include "authcore/sql_dialect.hpp"

namespace doorman::authcore {
namespace {

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

// Whether a failed statement may simply be run again on a fresh connection.
enum class Retry { no, once };

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
  std::unique_ptr<SqlDialect> dialect;
  soci::connection_pool pool;
  // Reconnection after an outage: a session that sees its connection gone bumps
  // lost_epoch, and every session whose slot_epoch is older reconnects before
  // its next statement, so a restarted server is not rediscovered once per
  // session by a failing request. A slot is touched only by its leaseholder.
  std::vector<std::uint64_t> slot_epoch;
  std::atomic<std::uint64_t> lost_epoch{0};
  // remove() deletes OAuth accounts explicitly only where the table exists: an
  // unmigrated fastapi-users database without OAuth has none.
  std::atomic<bool> has_oauth_table{false};

  Impl(config::DatabaseKind kind, std::size_t size)
      : dialect(SqlDialect::for_kind(kind)), pool(size), slot_epoch(size, 0) {}

  // One pooled session for the length of one operation.
  struct Lease {
    Impl& impl;
    std::size_t pos;
    explicit Lease(Impl& i) : impl(i), pos(i.pool.lease()) {}
    ~Lease() { impl.pool.give_back(pos); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    soci::session& session() { return impl.pool.at(pos); }

    // Reconnects if the database was seen to go away since this session last connected.
    void refresh() {
      const std::uint64_t epoch = impl.lost_epoch.load();
      if (impl.slot_epoch[pos] == epoch) return;
      session().reconnect();
      impl.slot_epoch[pos] = epoch;
    }

    // After a failed statement; true when the connection is gone.
    bool note_failure() {
      if (!impl.dialect->connection_lost(session())) return false;
      ++impl.lost_epoch;
      return true;
    }
  };

  // Runs one store operation, mapping database failures to StoreError (the
  // request path takes no exceptions; callers decide what to log). Reads retry
  // once on a lost connection: a server restart then costs no failed read.
  // Writes do not, as the lost statement may have committed.
  template <class F>
  auto run(Retry retry, F&& f) -> decltype(f(std::declval<soci::session&>())) {
    Lease lease(*this);
    for (int attempt = 0;; ++attempt) {
      try {
        lease.refresh();
      } catch (const std::exception&) {
        return StoreError::unavailable;  // still down; the next operation tries again
      }
      try {
        return f(lease.session());
      } catch (const soci::soci_error& e) {
        if (dialect->is_unique_violation(e)) return StoreError::duplicate_email;
        if (!lease.note_failure() || retry == Retry::no || attempt > 0) return StoreError::unavailable;
      } catch (const std::exception&) {
        return StoreError::unavailable;
      }
    }
  }
};

SociUserStore::SociUserStore(const config::DatabaseConfig& db) {
  const auto pool_size = static_cast<std::size_t>(std::max(1, db.pool_size));
  impl_ = std::make_unique<Impl>(db.kind, pool_size);
  try {
    for (std::size_t i = 0; i < pool_size; ++i) impl_->dialect->open(impl_->pool.at(i), db.connection);
    impl_->has_oauth_table = impl_->dialect->object_exists(impl_->pool.at(0), "table", "oauth_account");
  } catch (const soci::soci_error& e) {
    // The message, not the connection string: it may hold a password.
    throw std::runtime_error("cannot open the database: " + e.get_error_message());
  }
}

SociUserStore::~SociUserStore() = default;

MigrationReport SociUserStore::migrate() {
  MigrationReport report;
  const SqlDialect& dialect = *impl_->dialect;
  const std::string id_type = dialect.id_type();
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
       "  id " +
           id_type +
           " NOT NULL,\n"
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
       "  id " +
           id_type +
           " NOT NULL,\n"
           "  user_id " +
           id_type +
           " NOT NULL,\n"
           "  PRIMARY KEY (id),\n"
           "  FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade\n)"},
      {"index", "ix_oauth_account_oauth_name",
       "CREATE INDEX IF NOT EXISTS ix_oauth_account_oauth_name ON oauth_account (oauth_name)"},
      {"index", "ix_oauth_account_account_id",
       "CREATE INDEX IF NOT EXISTS ix_oauth_account_account_id ON oauth_account (account_id)"},
      {"table", "accesstoken",
       "CREATE TABLE IF NOT EXISTS accesstoken (\n"
       "  token VARCHAR(43) NOT NULL,\n"
       "  created_at " +
           std::string(dialect.timestamp_type()) +
           " NOT NULL,\n"
           "  user_id " +
           id_type +
           " NOT NULL,\n"
           "  PRIMARY KEY (token),\n"
           "  FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade\n)"},
      {"index", "ix_accesstoken_created_at",
       "CREATE INDEX IF NOT EXISTS ix_accesstoken_created_at ON accesstoken (created_at)"},
  };

  Impl::Lease lease(*impl_);
  try {
    lease.refresh();
    soci::session& sql = lease.session();
    // One transaction: PostgreSQL's DDL is transactional, so a failed migration
    // leaves the schema as it found it (SQLite's too).
    soci::transaction tx(sql);
    for (const auto& object : objects) {
      if (dialect.object_exists(sql, object.type, object.name)) continue;
      sql << object.ddl;
      report.actions.push_back(std::string("created ") + object.type + " " + object.name);
    }

    // The unique index on lower(email) is what decides concurrent registrations
    // of one address in two cases; an old database holding such pairs keeps only
    // the exact-string index, and the operator is told which rows clash.
    if (!dialect.object_exists(sql, "index", "ix_user_email_lower")) {
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
    lease.note_failure();
    throw std::runtime_error("database migration failed: " + e.get_error_message());
  }
  impl_->has_oauth_table = true;
  return report;
}

Result<std::optional<User>, StoreError> SociUserStore::find_by_id(const std::string& id) {
  if (!impl_->dialect->can_hold_id(id)) return std::optional<User>();
  return impl_->run(Retry::once, [&](soci::session& sql) -> Result<std::optional<User>, StoreError> {
    return first(select_users(sql, "WHERE id = :id", &id));
  });
}

Result<std::optional<User>, StoreError> SociUserStore::find_by_email(const std::string& email) {
  return impl_->run(Retry::once, [&](soci::session& sql) -> Result<std::optional<User>, StoreError> {
    // ORDER BY: an old database may hold case-variants of one address; pick one deterministically.
    return first(select_users(sql, "WHERE lower(email) = lower(:e) ORDER BY email", &email));
  });
}

Result<std::vector<User>, StoreError> SociUserStore::list_users() {
  return impl_->run(Retry::once, [&](soci::session& sql) -> Result<std::vector<User>, StoreError> {
    return select_users(sql, "ORDER BY email", nullptr);
  });
}

Result<User, StoreError> SociUserStore::create(const User& user) {
  return impl_->run(Retry::no, [&](soci::session& sql) -> Result<User, StoreError> {
    const int active = user.is_active, superuser = user.is_superuser, verified = user.is_verified;
    sql << "INSERT INTO \"user\" (id, email, hashed_password, is_active, is_superuser, is_verified) "
           "VALUES (:id, :email, :hash, CAST(:a AS BOOLEAN), CAST(:s AS BOOLEAN), CAST(:v AS BOOLEAN))",
        soci::use(user.id), soci::use(user.email), soci::use(user.hashed_password), soci::use(active),
        soci::use(superuser), soci::use(verified);
    return user;
  });
}

Result<User, StoreError> SociUserStore::update(const User& user) {
  if (!impl_->dialect->can_hold_id(user.id)) return StoreError::not_found;
  return impl_->run(Retry::no, [&](soci::session& sql) -> Result<User, StoreError> {
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
  if (!impl_->dialect->can_hold_id(id)) return false;
  return impl_->run(Retry::no, [&](soci::session& sql) -> Result<bool, StoreError> {
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

Result<bool, StoreError> SociUserStore::insert_access_token(
    const std::string& token, const std::string& user_id, std::chrono::system_clock::time_point created_at) {
  return impl_->run(Retry::no, [&](soci::session& sql) -> Result<bool, StoreError> {
    const std::string created = impl_->dialect->timestamp_param(created_at);
    sql << "INSERT INTO accesstoken (token, created_at, user_id) VALUES (:t, :c, :u)", soci::use(token),
        soci::use(created), soci::use(user_id);
    return true;
  });
}

Result<std::optional<AccessTokenRecord>, StoreError> SociUserStore::find_access_token(
    const std::string& token, std::optional<std::chrono::system_clock::time_point> not_before) {
  return impl_->run(
      Retry::once, [&](soci::session& sql) -> Result<std::optional<AccessTokenRecord>, StoreError> {
        std::string user_id;
        std::string created_at;
        soci::indicator created_at_indicator = soci::i_ok;
        const std::string select = std::string("SELECT user_id, ") +
                                   impl_->dialect->utc_timestamp_text_of("created_at") +
                                   " FROM accesstoken WHERE token = :t";
        if (not_before) {
          const std::string limit = impl_->dialect->timestamp_param(*not_before);
          sql << select + " AND created_at >= :c", soci::into(user_id),
              soci::into(created_at, created_at_indicator), soci::use(token), soci::use(limit);
        } else {
          sql << select, soci::into(user_id), soci::into(created_at, created_at_indicator), soci::use(token);
        }
        if (!sql.got_data()) return std::optional<AccessTokenRecord>();
        AccessTokenRecord record{user_id, std::nullopt};
        if (created_at_indicator == soci::i_ok) record.created_at = parse_utc_timestamp_text(created_at);
        return std::optional<AccessTokenRecord>(std::move(record));
      });
}

Result<bool, StoreError> SociUserStore::delete_access_token(const std::string& token) {
  return impl_->run(Retry::no, [&](soci::session& sql) -> Result<bool, StoreError> {
    soci::statement st = (sql.prepare << "DELETE FROM accesstoken WHERE token = :t", soci::use(token));
    st.execute(true);
    return st.get_affected_rows() > 0;
  });
}

bool SociUserStore::ping() {
  const auto answered = impl_->run(Retry::once, [](soci::session& sql) -> Result<bool, StoreError> {
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    return one == 1;
  });
  return answered.ok() && answered.value();
}

}  // namespace doorman::authcore
