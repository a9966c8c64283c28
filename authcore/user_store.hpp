// The persistence seam: users and database-strategy access tokens. All calls
// block (SOCI); callers run them on the blocking pool, never on a worker.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authcore/result.hpp"
#include "authcore/user.hpp"

namespace doorman::authcore {

enum class StoreError {
  not_found,
  duplicate_email,  // unique constraint decided
  unavailable,      // database unreachable or failed
};

// An `accesstoken` row as the database strategy reads it. `created_at` is
// nullopt when the stored text is not a timestamp doorman can read (the row
// still counts; only its end is unknown).
struct AccessTokenRecord {
  std::string user_id;
  std::optional<std::chrono::system_clock::time_point> created_at;

  bool operator==(const AccessTokenRecord&) const = default;
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  virtual Result<std::optional<User>, StoreError> find_by_id(const std::string& id) = 0;
  // lower(email) = lower(given)
  virtual Result<std::optional<User>, StoreError> find_by_email(const std::string& email) = 0;
  virtual Result<std::vector<User>, StoreError> list_users() = 0;
  // Inserts; duplicate_email when the unique index refuses it.
  virtual Result<User, StoreError> create(const User& user) = 0;
  // Updates every column of the row with user.id; duplicate_email / not_found.
  virtual Result<User, StoreError> update(const User& user) = 0;
  // Deletes the user and (by cascade or explicitly) its access tokens and OAuth accounts.
  virtual Result<bool, StoreError> remove(const std::string& id) = 0;

  // accesstoken table (database strategy)
  virtual Result<bool, StoreError> insert_access_token(const std::string& token, const std::string& user_id,
                                                       std::chrono::system_clock::time_point created_at) = 0;
  // The row of a token created at or after `not_before` (nullopt: no lifetime limit).
  virtual Result<std::optional<AccessTokenRecord>, StoreError> find_access_token(
      const std::string& token, std::optional<std::chrono::system_clock::time_point> not_before) = 0;
  virtual Result<bool, StoreError> delete_access_token(const std::string& token) = 0;

  // Cheap round trip for /readyz.
  virtual bool ping() = 0;
};

using UserStorePtr = std::shared_ptr<UserStore>;

}  // namespace doorman::authcore
