// Test helper: a throwaway PostgreSQL server on a free loopback port, its data
// and socket in a temp dir, started once per test binary (shared()) and
// stopped and deleted at exit. Each test takes a fresh schema or database from it.
//
// The binaries come from DOORMAN_PG_BINDIR or `pg_config --bindir`. PostgreSQL
// refuses to run as root, so as root the server runs as the `postgres` user
// through runuser. The server's TimeZone is deliberately not UTC, so a
// timestamp bound without a zone would be caught by the tests.
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "authcore/store_test_support.hpp"

namespace doorman::test {

class PostgresServer {
 public:
  PostgresServer() : bindir_(find_bindir()), port_(free_loopback_port()) {
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr)
        throw std::runtime_error("running as root needs a 'postgres' user to run PostgreSQL");
      if (chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot chown the PostgreSQL temp dir");
      as_user_ = "runuser -u postgres -- ";
    }
    run(quote(bindir_ / "initdb") + " -D " + quote(data_dir()) +
        " -A trust -U postgres -E UTF8 --locale=C --no-sync >" + quote(dir_.path() / "initdb.log") + " 2>&1");
    start();
  }

  ~PostgresServer() {
    if (running_) std::system((as_user_ + pg_ctl("stop -m immediate") + " >/dev/null 2>&1").c_str());
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // One server for the whole test binary: starting one takes a few seconds.
  static PostgresServer& shared() {
    static PostgresServer server;
    return server;
  }

  void start() {
    run(pg_ctl("start -w -t 30 -l " + quote(dir_.path() / "server.log") +
               " -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
               quote(dir_.path()) +
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c "
               "timezone=Pacific/Auckland\"") +
        " >/dev/null");
    running_ = true;
  }

  void stop() {
    run(pg_ctl("stop -w -m fast") + " >/dev/null");
    running_ = false;
  }

  // A libpq connection string for `dbname` (TCP, as a configured URL would be).
  std::string connection(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
  }

  // A new empty database (CREATE DATABASE takes about half a second).
  std::string create_database() {
    const std::string name = "doorman_test_" + std::to_string(++created_);
    soci::session admin(soci::postgresql, connection("postgres"));
    admin << "CREATE DATABASE " + name;
    return name;
  }

  // A connection string whose sessions see only a new empty schema of one
  // shared database, and are named by application_name: as isolated as a fresh
  // database for the store (which works in current_schema()), in a millisecond.
  std::string create_schema_connection() {
    if (shared_database_.empty()) shared_database_ = create_database();
    const std::string name = "doorman_schema_" + std::to_string(++created_);
    soci::session admin(soci::postgresql, connection(shared_database_));
    admin << "CREATE SCHEMA " + name;
    return connection(shared_database_) + " application_name=" + name + " options='-c search_path=" + name +
           "'";
  }

 private:
  static std::filesystem::path find_bindir() {
    if (const char* env = std::getenv("DOORMAN_PG_BINDIR"); env != nullptr && *env != '\0') return env;
    std::string out;
    if (FILE* p = popen("pg_config --bindir 2>/dev/null", "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
      pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (out.empty() || !std::filesystem::exists(std::filesystem::path(out) / "initdb"))
      throw std::runtime_error("PostgreSQL server binaries not found: set DOORMAN_PG_BINDIR");
    return out;
  }

  static std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

  std::filesystem::path data_dir() const { return dir_.path() / "data"; }

  std::string pg_ctl(const std::string& args) const {
    return quote(bindir_ / "pg_ctl") + " -D " + quote(data_dir()) + " " + args;
  }

  void run(const std::string& command) const {
    if (std::system((as_user_ + command).c_str()) != 0) {
      std::ifstream log(dir_.path() / "server.log");
      std::stringstream text;
      text << log.rdbuf();
      throw std::runtime_error("PostgreSQL test server: command failed: " + command + "\n" + text.str());
    }
  }

  TempDir dir_;
  std::filesystem::path bindir_;
  int port_;
  std::string as_user_;
  bool running_ = false;
  int created_ = 0;
  std::string shared_database_;
};

inline config::DatabaseConfig postgres_config(const std::string& connection, int pool_size = 4) {
  config::DatabaseConfig db;
  db.url = "postgresql://postgres@127.0.0.1/test";  // for messages only; the store opens `connection`
  db.kind = config::DatabaseKind::postgresql;
  db.connection = connection;
  db.pool_size = pool_size;
  return db;
}

}  // namespace doorman::test
