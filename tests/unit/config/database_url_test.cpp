// Tests for config/database_url: SQLAlchemy URL forms to sqlite paths and libpq strings.
#include "config/database_url.hpp"

#include <doctest/doctest.h>

using namespace doorman::config;

TEST_CASE("sqlite URLs follow SQLAlchemy") {
  DatabaseTarget t;
  CHECK(parse_database_url("sqlite:///doorman.db", t).empty());
  CHECK(t.kind == DatabaseKind::sqlite);
  CHECK(t.connection == "doorman.db");
  CHECK(parse_database_url("sqlite:///./data/x.db", t).empty());
  CHECK(t.connection == "./data/x.db");
  CHECK(parse_database_url("sqlite:////var/lib/doorman/doorman.db", t).empty());
  CHECK(t.connection == "/var/lib/doorman/doorman.db");
  CHECK(parse_database_url("sqlite+aiosqlite:///./test.db", t).empty());
  CHECK(t.connection == "./test.db");
  CHECK(parse_database_url("sqlite://", t).empty());
  CHECK(t.connection == ":memory:");
  CHECK_FALSE(parse_database_url("sqlite://host/x.db", t).empty());
  CHECK_FALSE(parse_database_url("sqlite:///x.db?mode=ro", t).empty());
  CHECK_FALSE(parse_database_url("mysql://h/db", t).empty());
  CHECK_FALSE(parse_database_url("doorman.db", t).empty());
}

TEST_CASE("postgresql URLs become libpq connection strings") {
  DatabaseTarget t;
  CHECK(parse_database_url("postgresql://user:p%40ss@db.local:5433/app", t).empty());
  CHECK(t.kind == DatabaseKind::postgresql);
  CHECK(t.connection == "host=db.local port=5433 dbname=app user=user password=p@ss");
  CHECK(parse_database_url("postgresql+asyncpg://u:it's a pw@[::1]/app?ssl=require", t).empty());
  CHECK(t.connection == "host=::1 dbname=app user=u password='it\\'s a pw' sslmode=require");
  CHECK(parse_database_url("postgresql:///app", t).empty());
  CHECK(t.connection == "dbname=app");
  CHECK_FALSE(parse_database_url("postgresql://h:port/db", t).empty());
  CHECK_FALSE(parse_database_url("postgresql://h/db%zz", t).empty());
}

TEST_CASE("mask_url_password") {
  CHECK(mask_url_password("postgresql://u:secret@h/db") == "postgresql://u:***@h/db");
  CHECK(mask_url_password("postgresql://u@h/db") == "postgresql://u@h/db");
  CHECK(mask_url_password("sqlite:///x.db") == "sqlite:///x.db");
  CHECK(mask_url_password("redis://:pw@h:6379/0") == "redis://:***@h:6379/0");
}
