// An in-memory UserStore for routes tests: case-insensitive email lookups
// (ASCII), a unique index on the exact email, access tokens, and switches to
// simulate an unreachable database or a lost registration race.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "authcore/user_store.hpp"

namespace doorman::routes::testing {

class FakeUserStore final : public authcore::UserStore {
 public:
  using StoreError = authcore::StoreError;
  using User = authcore::User;
  template <class T>
  using Result = authcore::Result<T, StoreError>;

  bool unavailable = false;
  bool duplicate_on_write = false;  // create/update lose a race to the unique index
  int writes = 0;                   // successful create + update + remove calls

  std::vector<User> users;                    // insertion order
  std::map<std::string, std::string> tokens;  // accesstoken: token -> user id

  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }

  std::optional<User> by_email(const std::string& email) const {
    for (const User& u : users)
      if (lower(u.email) == lower(email)) return u;
    return std::nullopt;
  }

  Result<std::optional<User>> find_by_id(const std::string& id) override {
    if (unavailable) return StoreError::unavailable;
    for (const User& u : users)
      if (u.id == id) return std::optional<User>(u);
    return std::optional<User>();
  }
  Result<std::optional<User>> find_by_email(const std::string& email) override {
    if (unavailable) return StoreError::unavailable;
    return by_email(email);
  }
  Result<std::vector<User>> list_users() override {
    if (unavailable) return StoreError::unavailable;
    return users;
  }
  Result<User> create(const User& user) override {
    if (unavailable) return StoreError::unavailable;
    if (duplicate_on_write) return StoreError::duplicate_email;
    for (const User& u : users)
      if (u.email == user.email) return StoreError::duplicate_email;
    users.push_back(user);
    ++writes;
    return user;
  }
  Result<User> update(const User& user) override {
    if (unavailable) return StoreError::unavailable;
    if (duplicate_on_write) return StoreError::duplicate_email;
    for (const User& u : users)
      if (u.id != user.id && u.email == user.email) return StoreError::duplicate_email;
    for (User& u : users) {
      if (u.id != user.id) continue;
      u = user;
      ++writes;
      return user;
    }
    return StoreError::not_found;
  }
  Result<bool> remove(const std::string& id) override {
    if (unavailable) return StoreError::unavailable;
    const auto before = users.size();
    std::erase_if(users, [&](const User& u) { return u.id == id; });
    std::erase_if(tokens, [&](const auto& t) { return t.second == id; });
    writes += before != users.size();
    return before != users.size();
  }
  Result<bool> insert_access_token(const std::string& token, const std::string& user_id,
                                   std::chrono::system_clock::time_point) override {
    if (unavailable) return StoreError::unavailable;
    tokens[token] = user_id;
    return true;
  }
  Result<std::optional<authcore::AccessTokenRecord>> find_access_token(
      const std::string& token, std::optional<std::chrono::system_clock::time_point>) override {
    if (unavailable) return StoreError::unavailable;
    const auto it = tokens.find(token);
    if (it == tokens.end()) return std::optional<authcore::AccessTokenRecord>();
    return std::optional<authcore::AccessTokenRecord>(authcore::AccessTokenRecord{it->second, std::nullopt});
  }
  Result<bool> delete_access_token(const std::string& token) override {
    if (unavailable) return StoreError::unavailable;
    return tokens.erase(token) > 0;
  }
  bool ping() override { return !unavailable; }
};

}  // namespace doorman::routes::testing
