// Test helpers for authcore: a temporary directory removed on scope exit, a
// SociUserStore over a copy of a database file in it, and a free loopback
// port for the servers the tests start.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "authcore/soci_user_store.hpp"

namespace doorman::test {

// Bind port 0 and release it: the kernel's pick is free now and very likely still free a moment later.
inline int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(addr.sin_port);
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "doorman-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline config::DatabaseConfig sqlite_config(const std::filesystem::path& file, int pool_size = 4) {
  config::DatabaseConfig db;
  db.url = "sqlite:///" + file.string();
  db.kind = config::DatabaseKind::sqlite;
  db.connection = file.string();
  db.pool_size = pool_size;
  return db;
}

// The fastapi-users 14 fixture database, copied into `dir` (tests never touch the original).
inline std::filesystem::path copy_fixture_db(const TempDir& dir) {
  const auto target = dir.path() / "app.db";
  std::filesystem::copy_file(std::filesystem::path(DOORMAN_FIXTURES) / "fastapi-users-14" / "app.db", target);
  return target;
}

}  // namespace doorman::test
