// UserStore over SOCI: SQLite (WAL) and PostgreSQL, fastapi-users-db-sqlalchemy's
// exact schema (DESIGN.md §7), a fixed pool of sessions. A lost PostgreSQL
// connection answers StoreError::unavailable and is reconnected on a later call,
// so the pool recovers by itself when the server is back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "authcore/user_store.hpp"
#include "config/config.hpp"

namespace doorman::authcore {

struct MigrationReport {
  std::vector<std::string> actions;   // "created table user", ...
  std::vector<std::string> warnings;  // e.g. case-duplicate emails keeping the exact index
};

class SociUserStore final : public UserStore {
 public:
  // Opens the pool; throws std::runtime_error on failure (startup).
  explicit SociUserStore(const config::DatabaseConfig& db);
  ~SociUserStore() override;

  // Creates missing tables and indexes; never drops data. Throws on failure.
  MigrationReport migrate();

  Result<std::optional<User>, StoreError> find_by_id(const std::string& id) override;
  Result<std::optional<User>, StoreError> find_by_email(const std::string& email) override;
  Result<std::vector<User>, StoreError> list_users() override;
  Result<User, StoreError> create(const User& user) override;
  Result<User, StoreError> update(const User& user) override;
  Result<bool, StoreError> remove(const std::string& id) override;
  Result<bool, StoreError> insert_access_token(const std::string& token, const std::string& user_id,
                                               std::chrono::system_clock::time_point created_at) override;
  Result<std::optional<AccessTokenRecord>, StoreError> find_access_token(
      const std::string& token, std::optional<std::chrono::system_clock::time_point> not_before) override;
  Result<bool, StoreError> delete_access_token(const std::string& token) override;
  bool ping() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doorman::authcore
