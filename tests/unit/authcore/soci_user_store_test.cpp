// SociUserStore against real SQLite files: schema and migration, user CRUD,
// case-insensitive email uniqueness under concurrency, access tokens, and the
// database fastapi-users 14 wrote.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "authcore/store_test_support.hpp"

namespace {

using namespace doorman;
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

// For inspecting a file behind the store's back; quoted, as paths may hold spaces.
std::string raw_connect_string(const std::filesystem::path& file) { return "db=\"" + file.string() + "\""; }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> schema_names(const std::filesystem::path& file, const std::string& type) {
  soci::session sql(soci::sqlite3, raw_connect_string(file));
  std::vector<std::string> names(100);
  sql << "SELECT name FROM sqlite_master WHERE type = :t AND name NOT LIKE 'sqlite_%' ORDER BY name",
      soci::into(names), soci::use(type);
  return names;
}

int count_rows(const std::filesystem::path& file, const std::string& table) {
  soci::session sql(soci::sqlite3, raw_connect_string(file));
  int n = -1;
  sql << "SELECT COUNT(*) FROM " + table, soci::into(n);
  return n;
}

struct FreshStore {
  test::TempDir dir;
  std::filesystem::path file = dir.path() / "doorman.db";
  SociUserStore store{test::sqlite_config(file)};
  FreshStore() { store.migrate(); }
};

}  // namespace

TEST_CASE("migrate creates fastapi-users' schema and is idempotent") {
  test::TempDir dir;
  const auto file = dir.path() / "new store.db";  // SOCI splits unquoted paths at spaces
  SociUserStore store(test::sqlite_config(file));

  const auto first = store.migrate();
  CHECK(contains(first.actions, "created table user"));
  CHECK(contains(first.actions, "created table oauth_account"));
  CHECK(contains(first.actions, "created table accesstoken"));
  CHECK(contains(first.actions, "created index ix_user_email_lower"));
  CHECK(first.warnings.empty());

  CHECK(schema_names(file, "table") == std::vector<std::string>{"accesstoken", "oauth_account", "user"});
  CHECK(schema_names(file, "index") ==
        std::vector<std::string>{"ix_accesstoken_created_at", "ix_oauth_account_account_id",
                                 "ix_oauth_account_oauth_name", "ix_user_email", "ix_user_email_lower"});

  const auto second = store.migrate();
  CHECK(second.actions.empty());
  CHECK(second.warnings.empty());

  soci::session sql(soci::sqlite3, raw_connect_string(file));
  std::string mode;
  sql << "PRAGMA journal_mode", soci::into(mode);
  CHECK(mode == "wal");
}

TEST_CASE("an unmigrated database answers unavailable, a bad path throws at startup") {
  test::TempDir dir;
  SociUserStore store(test::sqlite_config(dir.path() / "empty.db"));
  const auto found = store.find_by_id(kId1);
  REQUIRE_FALSE(found.ok());
  CHECK(found.error() == StoreError::unavailable);
  CHECK(store.ping());

  CHECK_THROWS_AS(SociUserStore(test::sqlite_config(dir.path() / "missing-dir" / "x.db")), std::runtime_error);
}

TEST_CASE("create, find, update, list and remove users") {
  FreshStore s;
  auto& store = s.store;

  User alice = make_user(kId1, "Alice@Example.com");
  alice.is_verified = true;
  REQUIRE(store.create(alice).ok());

  auto by_id = store.find_by_id(kId1);
  REQUIRE(by_id.ok());
  REQUIRE(by_id.value().has_value());
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
  CHECK(listed.value().size() == 2);

  CHECK(store.remove(kId1).value());
  CHECK_FALSE(store.remove(kId1).value());
  CHECK_FALSE(store.find_by_id(kId1).value().has_value());
  CHECK(store.find_by_id(kId2).value().has_value());
}

TEST_CASE("duplicate emails, exact or differing in case, are refused by the unique index") {
  FreshStore s;
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
}

TEST_CASE("concurrent registrations of one email: exactly one wins") {
  FreshStore s;
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

TEST_CASE("access tokens: insert, find within a lifetime, delete, cascade on user removal") {
  FreshStore s;
  auto& store = s.store;
  REQUIRE(store.create(make_user(kId1, "alice@example.com")).ok());

  const auto now = system_clock::now();
  const std::string token = "tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  REQUIRE(store.insert_access_token(token, kId1, now - minutes(10)).ok());

  CHECK(store.find_access_token(token, std::nullopt).value() == std::optional<std::string>(kId1));
  CHECK(store.find_access_token(token, now - hours(1)).value() == std::optional<std::string>(kId1));
  CHECK(store.find_access_token(token, now - minutes(10)).value() == std::optional<std::string>(kId1));
  CHECK_FALSE(store.find_access_token(token, now - minutes(5)).value().has_value());
  CHECK_FALSE(store.find_access_token("unknown", std::nullopt).value().has_value());

  CHECK(store.delete_access_token(token).value());
  CHECK_FALSE(store.delete_access_token(token).value());
  CHECK_FALSE(store.find_access_token(token, std::nullopt).value().has_value());

  REQUIRE(store.insert_access_token(token, kId1, now).ok());
  REQUIRE(store.remove(kId1).value());
  CHECK_FALSE(store.find_access_token(token, std::nullopt).value().has_value());
  CHECK(count_rows(s.file, "accesstoken") == 0);
}

TEST_CASE("rows are written as SQLAlchemy writes them on SQLite") {
  FreshStore s;
  REQUIRE(s.store.create(make_user(kId1, "alice@example.com")).ok());
  const auto created = sys_days{year{2026} / 11 / 23} + hours(10) + minutes(29) + seconds(45) + microseconds(425540);
  REQUIRE(s.store.insert_access_token("t1", kId1, created).ok());
  REQUIRE(s.store.insert_access_token("t2", kId1, sys_days{year{2027} / 1 / 2} + hours(3)).ok());

  soci::session sql(soci::sqlite3, raw_connect_string(s.file));
  std::vector<std::string> stamps(10);
  sql << "SELECT created_at FROM accesstoken ORDER BY token", soci::into(stamps);
  CHECK(stamps == std::vector<std::string>{"2026-11-23 10:29:45.425540", "2027-01-02 03:00:00.000000"});

  // Booleans as integers 0/1, as in the fixture's rows.
  std::string flags;
  sql << "SELECT typeof(is_active) || is_active || typeof(is_superuser) || is_superuser FROM \"user\"",
      soci::into(flags);
  CHECK(flags == "integer1integer0");
}

TEST_CASE("the fastapi-users 14 database opens as it is") {
  test::TempDir dir;
  const auto file = test::copy_fixture_db(dir);
  SociUserStore store(test::sqlite_config(file));

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
        std::optional<std::string>(carol_id));
  // Created 2026-11-23 10:29:45.425540: a limit just after that excludes it.
  const auto created = sys_days{year{2026} / 11 / 23} + hours(10) + minutes(29) + seconds(45) + microseconds(425540);
  CHECK(store.find_access_token(carol_token, created).value().has_value());
  CHECK_FALSE(store.find_access_token(carol_token, created + microseconds(1)).value().has_value());

  // The app had no OAuth: migrate adds what is missing and keeps every row.
  const auto report = store.migrate();
  CHECK(report.actions ==
        std::vector<std::string>{"created table oauth_account", "created index ix_oauth_account_oauth_name",
                                 "created index ix_oauth_account_account_id", "created index ix_user_email_lower"});
  CHECK(report.warnings.empty());
  CHECK(count_rows(file, "\"user\"") == 4);
  CHECK(count_rows(file, "accesstoken") == 1);
  CHECK(store.find_by_email("BOB@example.com").value()->id == "1d9e73fd-3aff-4ebd-a778-390dc2df0517");
  CHECK(store.migrate().actions.empty());

  // A user removed from an old database loses its token too.
  CHECK(store.remove(carol_id).value());
  CHECK(count_rows(file, "accesstoken") == 0);
}

TEST_CASE("an old database with case-duplicate emails keeps the exact index and names them") {
  test::TempDir dir;
  const auto file = dir.path() / "old.db";
  {
    soci::session sql(soci::sqlite3, raw_connect_string(file));
    sql << "CREATE TABLE user (email VARCHAR(320) NOT NULL, hashed_password VARCHAR(1024) NOT NULL, "
           "is_active BOOLEAN NOT NULL, is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, "
           "id CHAR(36) NOT NULL, nickname VARCHAR(40), PRIMARY KEY (id))";
    sql << "CREATE UNIQUE INDEX ix_user_email ON user (email)";
    sql << "INSERT INTO user VALUES ('pat@example.com', 'h', 1, 0, 0, '" + kId1 + "', 'pat')";
    sql << "INSERT INTO user VALUES ('Pat@Example.com', 'h', 1, 0, 0, '" + kId2 + "', NULL)";
  }
  SociUserStore store(test::sqlite_config(file));
  const auto report = store.migrate();
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0].find("Pat@Example.com") != std::string::npos);
  CHECK(report.warnings[0].find("pat@example.com") != std::string::npos);
  CHECK_FALSE(contains(report.actions, "created index ix_user_email_lower"));
  CHECK_FALSE(contains(schema_names(file, "index"), "ix_user_email_lower"));

  // The extra column is left alone and reads still work.
  const auto found = store.find_by_email("PAT@EXAMPLE.COM");
  REQUIRE(found.ok());
  REQUIRE(found.value().has_value());
  CHECK(found.value()->email == "Pat@Example.com");  // deterministic: the lowest spelling
  CHECK(store.list_users().value().size() == 2);
}
