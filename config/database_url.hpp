// SQLAlchemy-style database URLs (the DATABASE_URL of a fastapi-users app) to
// what doorman's store opens: a SQLite file path or a libpq connection string.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace doorman::config {

struct DatabaseTarget {
  DatabaseKind kind = DatabaseKind::sqlite;
  std::string connection;  // sqlite: file path (":memory:" allowed); postgresql: "host=... dbname=..."
};

// Returns an error message, empty on success.
// sqlite[+aiosqlite|+pysqlite]:///rel.db is relative to the working directory (as in SQLAlchemy),
// sqlite:////abs.db absolute; postgresql[+asyncpg|+psycopg|+psycopg2]://user:pw@host:port/db?k=v.
std::string parse_database_url(std::string_view url, DatabaseTarget& out);

// The URL with any password replaced by "***", for printing.
std::string mask_url_password(std::string_view url);

}  // namespace doorman::config
