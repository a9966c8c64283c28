// SociUserStore: one contract suite run on SQLite files and on a throwaway
// PostgreSQL server (schema and migration, user CRUD, case-insensitive email
// uniqueness under concurrency, access tokens), then what each backend must do
// on its own: the exact forms fastapi-users' databases hold (the fastapi-users
// 14 SQLite file, a PostgreSQL database with SQLAlchemy's DDL), and for
// PostgreSQL the pool size and recovery after a server restart.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "authcore/postgres_server.hpp"
#include "authcore/store_test_support.hpp"

namespace {

using namespace doorman;
using authcore::AccessTokenRecord;
using authcore::Result;
using authcore::SociUserStore;
using authcore::StoreError;
using authcore::User;
using namespace std::chrono;

User make_user(std::string id, std::string email) {
  User u;
  u.id = std::move(id);
  u.email = std::move(email);
  u.hashed_password = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaA";
  return u;
}

const std::string kId1 = "11111111-1111-4111-8111-111111111111";
const std::string kId2 = "22222222-2222-4222-8222-222222222222";

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> column_of_strings(soci::session& sql, const std::string& query) {
  std::vector<std::string> values(100);
  sql << query, soci::into(values);
  return values;
}

// A fresh, empty SQLite file per test.
struct SqliteBackend {
  static constexpr const char* id_type = "CHAR(36)";
  test::TempDir dir;
  std::filesystem::path file = dir.path() / "doorman.db";

  config::DatabaseConfig config(int pool_size = 4) const { return test::sqlite_config(file, pool_size); }

  // For inspecting the file behind the store's back; quoted, as paths may hold spaces.
  std::unique_ptr<soci::session> raw() const {
    return std::make_unique<soci::session>(soci::sqlite3, "db=\"" + file.string() + "\"");
  }

  std::vector<std::string> schema_names(const std::string& type) const {
    return column_of_strings(*raw(), "SELECT name FROM sqlite_master WHERE type = '" + type +
                                         "' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  }
};

// A fresh, empty schema per test on the binary's shared PostgreSQL server (or a
// whole database, for what only a database's default schema shows).
struct PostgresBackend {
  static constexpr const char* id_type = "UUID";
  std::string connection;

  PostgresBackend() : connection(test::PostgresServer::shared().create_schema_connection()) {}
  struct OwnDatabase {};
  explicit PostgresBackend(OwnDatabase)
      : connection(
            test::PostgresServer::shared().connection(test::PostgresServer::shared().create_database())) {}

  config::DatabaseConfig config(int pool_size = 4) const {
    return test::postgres_config(connection, pool_size);
  }
  std::unique_ptr<soci::session> raw() const {
    return std::make_unique<soci::session>(soci::postgresql, connection);
  }

  // Primary key indexes left out, as SQLite's automatic ones are.
  std::vector<std::string> schema_names(const std::string& type) const {
    return column_of_strings(
        *raw(),
        type == "table"
            ? "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() "
              "ORDER BY table_name"
            : "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() "
              "AND indexname NOT LIKE '%_pkey' ORDER BY indexname");
  }
};

template <class B>
int count_rows(const B& backend, const std::string& table) {
  int n = -1;
  *backend.raw() << "SELECT COUNT(*) FROM " + table, soci::into(n);
  return n;
}

template <class B>
struct FreshStore {
  B backend;
  SociUserStore store{backend.config()};
  FreshStore() { store.migrate(); }
};

const auto kCreated =
    sys_days{year{2026} / 11 / 23} + hours(10) + minutes(29) + seconds(45) + microseconds(425540);

// The user id of a found access token row.
std::optional<std::string> found_user(const Result<std::optional<AccessTokenRecord>, StoreError>& found) {
  if (!found.value()) return std::nullopt;
  return found.value()->user_id;
}

}  // namespace

TYPE_TO_STRING(SqliteBackend);
TYPE_TO_STRING(PostgresBackend);

// ---- The contract: both backends ----

TEST_CASE_TEMPLATE("migrate creates fastapi-users' schema and is idempotent", B, SqliteBackend,
                   PostgresBackend) {
  B backend;
  SociUserStore store(backend.config());

  const auto first = store.migrate();
  CHECK(contains(first.actions, "created table user"));
  CHECK(contains(first.actions, "created table oauth_account"));
  CHECK(contains(first.actions, "created table accesstoken"));
  CHECK(contains(first.actions, "created index ix_user_email_lower"));
  CHECK(first.warnings.empty());

  CHECK(backend.schema_names("table") == std::vector<std::string>{"accesstoken", "oauth_account", "user"});
  CHECK(backend.schema_names("index") ==
        std::vector<std::string>{"ix_accesstoken_created_at", "ix_oauth_account_account_id",
                                 "ix_oauth_account_oauth_name", "ix_user_email", "ix_user_email_lower"});

  const auto second = store.migrate();
  CHECK(second.actions.empty());
  CHECK(second.warnings.empty());
  // A second store (another replica) finds nothing to do either.
  CHECK(SociUserStore(backend.config(1)).migrate().actions.empty());
}

TEST_CASE_TEMPLATE("an unmigrated database answers unavailable", B, SqliteBackend, PostgresBackend) {
  B backend;
  SociUserStore store(backend.config());
  const auto found = store.find_by_id(kId1);
  REQUIRE_FALSE(found.ok());
  CHECK(found.error() == StoreError::unavailable);
  CHECK(store.ping());
}

TEST_CASE_TEMPLATE("create, find, update, list and remove users", B, SqliteBackend, PostgresBackend) {
  FreshStore<B> s;
  auto& store = s.store;

  User alice = make_user(kId1, "Alice@Example.com");
  alice.is_verified = true;
  REQUIRE(store.create(alice).ok());

  auto by_id = store.find_by_id(kId1);
  REQUIRE(by_id.ok());
  REQUIRE(by_id.value().has_value());
  CHECK(by_id.value()->id == kId1);
  CHECK(by_id.value()->email == "Alice@Example.com");
  CHECK(by_id.value()->hashed_password == alice.hashed_password);
  CHECK(by_id.value()->is_active);
  CHECK_FALSE(by_id.value()->is_superuser);
  CHECK(by_id.value()->is_verified);

  // Email lookups are case-insensitive both ways; the stored spelling is kept.
  for (const std::string probe : {"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"}) {
    auto by_email = store.find_by_email(probe);
    REQUIRE(by_email.ok());
    REQUIRE(by_email.value().has_value());
    CHECK(by_email.value()->id == kId1);
  }
  CHECK_FALSE(store.find_by_email("nobody@example.com").value().has_value());
  CHECK_FALSE(store.find_by_id(kId2).value().has_value());

  alice.email = "alice@new.example";
  alice.is_active = false;
  alice.is_superuser = true;
  REQUIRE(store.update(alice).ok());
  auto updated = store.find_by_id(kId1).value();
  REQUIRE(updated.has_value());
  CHECK(updated->email == "alice@new.example");
  CHECK_FALSE(updated->is_active);
  CHECK(updated->is_superuser);

  const auto missing = store.update(make_user(kId2, "x@example.com"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == StoreError::not_found);

  REQUIRE(store.create(make_user(kId2, "bob@example.com")).ok());
  const auto listed = store.list_users();
  REQUIRE(listed.ok());
  REQUIRE(listed.value().size() == 2);
  CHECK(listed.value()[0].email == "alice@new.example");
  CHECK(listed.value()[1].id == kId2);

  CHECK(store.remove(kId1).value());
  CHECK_FALSE(store.remove(kId1).value());
  CHECK_FALSE(store.find_by_id(kId1).value().has_value());
  CHECK(store.find_by_id(kId2).value().has_value());
}

TEST_CASE_TEMPLATE("an id that cannot be stored matches nothing", B, SqliteBackend, PostgresBackend) {
  FreshStore<B> s;
  REQUIRE(s.store.create(make_user(kId1, "alice@example.com")).ok());
  const std::vector<std::string> ids = {"not-a-uuid", "", "11111111-1111-4111-8111-11111111111g", kId1 + "0"};
  for (const std::string& id : ids) {
    CAPTURE(id);
    const auto found = s.store.find_by_id(id);
    REQUIRE(found.ok());
    CHECK_FALSE(found.value().has_value());
    const auto updated = s.store.update(make_user(id, "x@example.com"));
    REQUIRE_FALSE(updated.ok());
    CHECK(updated.error() == StoreError::not_found);
    CHECK(s.store.remove(id).ok());
    CHECK_FALSE(s.store.remove(id).value());
  }
}

TEST_CASE_TEMPLATE("duplicate emails, exact or differing in case, are refused by the unique index", B,
                   SqliteBackend, PostgresBackend) {
  FreshStore<B> s;
  auto& store = s.store;
  REQUIRE(store.create(make_user(kId1, "alice@example.com")).ok());

  const auto exact = store.create(make_user(kId2, "alice@example.com"));
  REQUIRE_FALSE(exact.ok());
  CHECK(exact.error() == StoreError::duplicate_email);

  const auto variant = store.create(make_user(kId2, "ALICE@example.com"));
  REQUIRE_FALSE(variant.ok());
  CHECK(variant.error() == StoreError::duplicate_email);

  REQUIRE(store.create(make_user(kId2, "bob@example.com")).ok());
  const auto clash = store.update(make_user(kId2, "Alice@Example.com"));
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.error() == StoreError::duplicate_email);

  // Other constraint failures are not mistaken for a taken email.
  const auto orphan =
      store.insert_access_token("orphan", "33333333-3333-4333-8333-333333333333", system_clock::now());
  REQUIRE_FALSE(orphan.ok());
  CHECK(orphan.error() == StoreError::unavailable);
}

TEST_CASE_TEMPLATE("concurrent registrations of one email: exactly one wins", B, SqliteBackend,
                   PostgresBackend) {
  FreshStore<B> s;
  std::atomic<int> created{0}, duplicates{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      char id[37];
      std::snprintf(id, sizeof id, "%08d-0000-4000-8000-000000000000", i);
      // Case variants too: the lower(email) index must decide, not a read-then-write.
      const auto r = s.store.create(make_user(id, i % 2 ? "Race@Example.com" : "race@example.com"));
      if (r.ok()) {
        ++created;
      } else if (r.error() == StoreError::duplicate_email) {
        ++duplicates;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(created == 1);
  CHECK(duplicates == 7);
  CHECK(other == 0);
}

TEST_CASE_TEMPLATE("access tokens: insert, find within a lifetime, delete, cascade on user removal", B,
                   SqliteBackend, PostgresBackend) {
  FreshStore<B> s;
  auto& store = s.store;
  REQUIRE(store.create(make_user(kId1, "alice@example.com")).ok());

  const auto now = system_clock::now();
  const std::string token = "tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  REQUIRE(store.insert_access_token(token, kId1, now - minutes(10)).ok());

  CHECK(found_user(store.find_access_token(token, std::nullopt)) == std::optional<std::string>(kId1));
  CHECK(found_user(store.find_access_token(token, now - hours(1))) == std::optional<std::string>(kId1));
  CHECK(found_user(store.find_access_token(token, now - minutes(10))) == std::optional<std::string>(kId1));
  CHECK_FALSE(store.find_access_token(token, now - minutes(5)).value().has_value());
  CHECK_FALSE(store.find_access_token("unknown", std::nullopt).value().has_value());

  // Exact to the microsecond at the bound, on both sides; created_at comes back as written.
  REQUIRE(store.insert_access_token("t-exact", kId1, kCreated).ok());
  CHECK(store.find_access_token("t-exact", std::nullopt).value()->created_at == kCreated);
  CHECK(store.find_access_token("t-exact", kCreated).value().has_value());
  CHECK(store.find_access_token("t-exact", kCreated - microseconds(1)).value().has_value());
  CHECK_FALSE(store.find_access_token("t-exact", kCreated + microseconds(1)).value().has_value());

  CHECK(store.delete_access_token(token).value());
  CHECK_FALSE(store.delete_access_token(token).value());
  CHECK_FALSE(store.find_access_token(token, std::nullopt).value().has_value());

  const auto duplicate = store.insert_access_token("t-exact", kId1, now);
  REQUIRE_FALSE(duplicate.ok());

  REQUIRE(store.insert_access_token(token, kId1, now).ok());
  REQUIRE(store.remove(kId1).value());
  CHECK_FALSE(store.find_access_token(token, std::nullopt).value().has_value());
  CHECK(count_rows(s.backend, "accesstoken") == 0);
}

TEST_CASE_TEMPLATE("an old database with case-duplicate emails keeps the exact index and names them", B,
                   SqliteBackend, PostgresBackend) {
  B backend;
  {
    auto sql = backend.raw();
    *sql << std::string(
                "CREATE TABLE \"user\" (email VARCHAR(320) NOT NULL, hashed_password VARCHAR(1024) NOT NULL, "
                "is_active BOOLEAN NOT NULL, is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, "
                "id ") +
                B::id_type + " NOT NULL, nickname VARCHAR(40), PRIMARY KEY (id))";
    *sql << "CREATE UNIQUE INDEX ix_user_email ON \"user\" (email)";
    *sql << "INSERT INTO \"user\" VALUES ('pat@example.com', 'h', TRUE, FALSE, FALSE, '" + kId1 + "', 'pat')";
    *sql << "INSERT INTO \"user\" VALUES ('Pat@Example.com', 'h', TRUE, FALSE, FALSE, '" + kId2 + "', NULL)";
  }
  SociUserStore store(backend.config());
  const auto report = store.migrate();
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0].find("Pat@Example.com") != std::string::npos);
  CHECK(report.warnings[0].find("pat@example.com") != std::string::npos);
  CHECK_FALSE(contains(report.actions, "created index ix_user_email_lower"));
  CHECK_FALSE(contains(backend.schema_names("index"), "ix_user_email_lower"));

  // The extra column is left alone and reads still work.
  const auto found = store.find_by_email("PAT@EXAMPLE.COM");
  REQUIRE(found.ok());
  REQUIRE(found.value().has_value());
  CHECK(found.value()->email == "Pat@Example.com");  // deterministic: the lowest spelling
  CHECK(store.list_users().value().size() == 2);
}

// ---- SQLite only ----

TEST_CASE("SQLite: a path with a space, WAL mode; a bad path throws at startup") {
  test::TempDir dir;
  const auto file = dir.path() / "new store.db";  // SOCI splits unquoted paths at spaces
  SociUserStore store(test::sqlite_config(file));
  CHECK(contains(store.migrate().actions, "created table user"));

  soci::session sql(soci::sqlite3, "db=\"" + file.string() + "\"");
  std::string mode;
  sql << "PRAGMA journal_mode", soci::into(mode);
  CHECK(mode == "wal");

  CHECK_THROWS_AS(SociUserStore(test::sqlite_config(dir.path() / "missing-dir" / "x.db")),
                  std::runtime_error);
}

TEST_CASE("SQLite: rows are written as SQLAlchemy writes them") {
  FreshStore<SqliteBackend> s;
  REQUIRE(s.store.create(make_user(kId1, "alice@example.com")).ok());
  REQUIRE(s.store.insert_access_token("t1", kId1, kCreated).ok());
  REQUIRE(s.store.insert_access_token("t2", kId1, sys_days{year{2027} / 1 / 2} + hours(3)).ok());

  auto sql = s.backend.raw();
  CHECK(column_of_strings(*sql, "SELECT created_at FROM accesstoken ORDER BY token") ==
        std::vector<std::string>{"2026-11-23 10:29:45.425540", "2027-01-02 03:00:00.000000"});

  // Booleans as integers 0/1, as in the fixture's rows.
  std::string flags;
  *sql << "SELECT typeof(is_active) || is_active || typeof(is_superuser) || is_superuser FROM \"user\"",
      soci::into(flags);
  CHECK(flags == "integer1integer0");
}

TEST_CASE("SQLite: the fastapi-users 14 database opens as it is") {
  test::TempDir dir;
  const auto file = test::copy_fixture_db(dir);
  SociUserStore store(test::sqlite_config(file));
  const auto rows = [&file](const std::string& table) {
    soci::session sql(soci::sqlite3, "db=\"" + file.string() + "\"");
    int n = -1;
    sql << "SELECT COUNT(*) FROM " + table, soci::into(n);
    return n;
  };

  const auto bob = store.find_by_email("bob@example.com");
  REQUIRE(bob.ok());
  REQUIRE(bob.value().has_value());
  CHECK(bob.value()->id == "1d9e73fd-3aff-4ebd-a778-390dc2df0517");
  CHECK(bob.value()->email == "Bob@Example.com");
  CHECK(bob.value()->hashed_password.starts_with("$2b$12$"));
  CHECK(bob.value()->is_verified);
  CHECK_FALSE(bob.value()->is_superuser);

  const auto dave = store.find_by_id("1b1f8086-e5cd-4b58-ae58-88a0946cbb45").value();
  REQUIRE(dave.has_value());
  CHECK_FALSE(dave->is_active);

  const std::string carol_token = "8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI";
  const std::string carol_id = "5726a80f-6984-429f-9f05-b924f0def3ce";
  const auto ten_years = hours(24 * 3650);
  CHECK(store.find_access_token(carol_token, system_clock::now() - ten_years).value() ==
        std::optional<AccessTokenRecord>(AccessTokenRecord{carol_id, kCreated}));
  // Created 2026-11-23 10:29:45.425540: a limit just after that excludes it.
  CHECK(store.find_access_token(carol_token, kCreated).value().has_value());
  CHECK_FALSE(store.find_access_token(carol_token, kCreated + microseconds(1)).value().has_value());

  // The app had no OAuth: migrate adds what is missing and keeps every row.
  const auto report = store.migrate();
  CHECK(report.actions == std::vector<std::string>{"created table oauth_account",
                                                   "created index ix_oauth_account_oauth_name",
                                                   "created index ix_oauth_account_account_id",
                                                   "created index ix_user_email_lower"});
  CHECK(report.warnings.empty());
  CHECK(rows("\"user\"") == 4);
  CHECK(rows("accesstoken") == 1);
  CHECK(store.find_by_email("BOB@example.com").value()->id == "1d9e73fd-3aff-4ebd-a778-390dc2df0517");
  CHECK(store.migrate().actions.empty());

  // A user removed from an old database loses its token too.
  CHECK(store.remove(carol_id).value());
  CHECK(rows("accesstoken") == 0);
}

// ---- PostgreSQL only ----

TEST_CASE("PostgreSQL: native column types, timestamps in UTC whatever the server's TimeZone") {
  FreshStore<PostgresBackend> s;
  auto sql = s.backend.raw();
  CHECK(column_of_strings(
            *sql,
            "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND (column_name IN ('id', 'user_id', 'created_at') "
            "OR column_name LIKE 'is_%') ORDER BY table_name, column_name") ==
        std::vector<std::string>{"accesstoken.created_at timestamp with time zone",
                                 "accesstoken.user_id uuid", "oauth_account.id uuid",
                                 "oauth_account.user_id uuid", "user.id uuid", "user.is_active boolean",
                                 "user.is_superuser boolean", "user.is_verified boolean"});

  std::string zone;
  *sql << "SHOW TimeZone", soci::into(zone);
  REQUIRE(zone != "UTC");  // else the next checks prove nothing

  REQUIRE(s.store.create(make_user(kId1, "alice@example.com")).ok());
  REQUIRE(s.store.insert_access_token("t1", kId1, kCreated).ok());
  std::string stored;
  *sql << "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM accesstoken",
      soci::into(stored);
  CHECK(stored == "2026-11-23 10:29:45.425540");
}

TEST_CASE("PostgreSQL: a fastapi-users database created by SQLAlchemy opens as it is") {
  PostgresBackend backend{PostgresBackend::OwnDatabase{}};  // tables in `public`, as the app made them
  const std::string bob_id = "1d9e73fd-3aff-4ebd-a778-390dc2df0517";
  const std::string dave_id = "1b1f8086-e5cd-4b58-ae58-88a0946cbb45";
  const std::string carol_id = "5726a80f-6984-429f-9f05-b924f0def3ce";
  const std::string carol_token = "8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHdI";
  {
    auto sql = backend.raw();
    // The DDL SQLAlchemy emits for fastapi-users-db-sqlalchemy 7.0.0's UUID tables on PostgreSQL.
    *sql << "CREATE TABLE \"user\" (id UUID NOT NULL, email VARCHAR(320) NOT NULL, "
            "hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL, is_superuser BOOLEAN NOT "
            "NULL, "
            "is_verified BOOLEAN NOT NULL, PRIMARY KEY (id))";
    *sql << "CREATE UNIQUE INDEX ix_user_email ON \"user\" (email)";
    *sql << "CREATE TABLE oauth_account (id UUID NOT NULL, oauth_name VARCHAR(100) NOT NULL, "
            "access_token VARCHAR(1024) NOT NULL, expires_at INTEGER, refresh_token VARCHAR(1024), "
            "account_id VARCHAR(320) NOT NULL, account_email VARCHAR(320) NOT NULL, user_id UUID NOT NULL, "
            "PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade)";
    *sql << "CREATE INDEX ix_oauth_account_oauth_name ON oauth_account (oauth_name)";
    *sql << "CREATE INDEX ix_oauth_account_account_id ON oauth_account (account_id)";
    *sql << "CREATE TABLE accesstoken (token VARCHAR(43) NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT "
            "NULL, "
            "user_id UUID NOT NULL, PRIMARY KEY (token), "
            "FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE cascade)";
    *sql << "CREATE INDEX ix_accesstoken_created_at ON accesstoken (created_at)";
    // Rows as asyncpg writes them.
    *sql << "INSERT INTO \"user\" VALUES ('" + bob_id +
                "', 'Bob@Example.com', '$2b$12$abc', true, false, true), "
                "('" +
                dave_id +
                "', 'dave@example.com', '$2b$12$def', false, false, false), "
                "('" +
                carol_id + "', 'carol@example.com', '$2b$12$ghi', true, true, true)";
    *sql << "INSERT INTO oauth_account VALUES ('99999999-9999-4999-8999-999999999999', 'google', 'at', "
            "1700000000, "
            "NULL, 'g-1', 'carol@gmail.com', '" +
                carol_id + "')";
    // One instant written from a session in another zone: the store compares instants, not text.
    *sql << "INSERT INTO accesstoken VALUES ('" + carol_token + "', '2026-11-23 23:29:45.425540+13', '" +
                carol_id + "')";
  }

  SociUserStore store(backend.config());
  const auto bob = store.find_by_email("bob@example.com");
  REQUIRE(bob.ok());
  REQUIRE(bob.value().has_value());
  CHECK(bob.value()->id == bob_id);
  CHECK(bob.value()->email == "Bob@Example.com");
  CHECK(bob.value()->hashed_password == "$2b$12$abc");
  CHECK(bob.value()->is_verified);
  CHECK_FALSE(bob.value()->is_superuser);
  const auto dave = store.find_by_id(dave_id).value();
  REQUIRE(dave.has_value());
  CHECK_FALSE(dave->is_active);
  CHECK(store.find_by_id(carol_id).value()->is_superuser);

  CHECK(store.find_access_token(carol_token, std::nullopt).value() ==
        std::optional<AccessTokenRecord>(AccessTokenRecord{carol_id, kCreated}));
  CHECK(store.find_access_token(carol_token, kCreated).value().has_value());
  CHECK_FALSE(store.find_access_token(carol_token, kCreated + microseconds(1)).value().has_value());

  // Only the lower(email) index is missing.
  const auto report = store.migrate();
  CHECK(report.actions == std::vector<std::string>{"created index ix_user_email_lower"});
  CHECK(report.warnings.empty());
  CHECK(store.migrate().actions.empty());
  CHECK(count_rows(backend, "\"user\"") == 3);
  const auto variant = store.create(make_user(kId1, "BOB@example.com"));
  REQUIRE_FALSE(variant.ok());
  CHECK(variant.error() == StoreError::duplicate_email);

  CHECK(store.remove(carol_id).value());
  CHECK(count_rows(backend, "accesstoken") == 0);
  CHECK(count_rows(backend, "oauth_account") == 0);
}

TEST_CASE("PostgreSQL: the pool holds pool_size connections; an unreachable server throws at startup") {
  PostgresBackend backend;
  {
    SociUserStore store(backend.config(3));
    int connections = 0;
    *backend.raw()
        << "SELECT COUNT(*) FROM pg_stat_activity "
           "WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()",
        soci::into(connections);
    CHECK(connections == 3);
  }

  // Nothing listens on port 1; the message must not carry the password.
  try {
    SociUserStore store(test::postgres_config("host=127.0.0.1 port=1 user=u password=sekrit dbname=d"));
    FAIL("opened an unreachable database");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).starts_with("cannot open the database"));
    CHECK(std::string(e.what()).find("sekrit") == std::string::npos);
  }
}

TEST_CASE("PostgreSQL: a stopped server answers unavailable and the pool recovers when it is back") {
  auto& server = test::PostgresServer::shared();
  FreshStore<PostgresBackend> s;
  auto& store = s.store;
  REQUIRE(store.create(make_user(kId1, "alice@example.com")).ok());

  struct Restart {  // the shared server must be up for later tests even if a check throws
    test::PostgresServer& server;
    bool stopped = false;
    void stop() { server.stop(), stopped = true; }
    void start() { server.start(), stopped = false; }
    ~Restart() {
      if (stopped) server.start();
    }
  } restart{server};

  SUBCASE("operations during the outage fail, and all work once it is over") {
    restart.stop();
    const auto read = store.find_by_id(kId1);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error() == StoreError::unavailable);
    const auto write = store.create(make_user(kId2, "bob@example.com"));
    REQUIRE_FALSE(write.ok());
    CHECK(write.error() == StoreError::unavailable);
    CHECK_FALSE(store.ping());

    restart.start();
    CHECK(store.ping());
    CHECK(store.find_by_id(kId1).value().has_value());
    CHECK(store.create(make_user(kId2, "bob@example.com")).ok());
  }

  SUBCASE("a restart nobody noticed costs no failed read") {
    restart.stop();
    restart.start();
    const auto read = store.find_by_email("ALICE@example.com");
    REQUIRE(read.ok());
    CHECK(read.value().has_value());
    CHECK(store.create(make_user(kId2, "bob@example.com")).ok());
  }

  SUBCASE("after a restart nobody noticed, a write may fail once, then writes work") {
    restart.stop();
    restart.start();
    const auto first_write = store.create(make_user(kId2, "bob@example.com"));
    if (!first_write.ok()) CHECK(first_write.error() == StoreError::unavailable);
    CHECK(store.insert_access_token("t1", kId1, system_clock::now()).ok());
  }

  // Every session of the pool is usable again, not only the one that noticed:
  // writes, which are not retried, on as many sessions as the threads get.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (!store.insert_access_token("after-" + std::to_string(i), kId1, system_clock::now()).ok())
        ++failures;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}
