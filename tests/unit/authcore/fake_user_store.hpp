// An in-memory UserStore for unit tests of what sits on top of the store
// (strategies, authenticator): can be switched "down" and counts its calls.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "authcore/user_store.hpp"

namespace doorman::test {

class FakeUserStore final : public authcore::UserStore {
 public:
  using StoreError = authcore::StoreError;
  using User = authcore::User;
  using AccessTokenRecord = authcore::AccessTokenRecord;
  template <class T>
  using R = authcore::Result<T, StoreError>;
  using TimePoint = std::chrono::system_clock::time_point;

  std::atomic<bool> down{false};
  std::atomic<int> calls{0};
  std::atomic<bool> unreadable_created_at{false};  // find_access_token: as if the column did not parse

  void add(const User& user) {
    std::lock_guard lock(mutex_);
    users_[user.id] = user;
  }

  R<std::optional<User>> find_by_id(const std::string& id) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    const auto it = users_.find(id);
    if (it == users_.end()) return std::optional<User>();
    return std::optional<User>(it->second);
  }
  R<std::optional<User>> find_by_email(const std::string& email) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    for (const auto& [id, user] : users_) {
      if (lower(user.email) == lower(email)) return std::optional<User>(user);
    }
    return std::optional<User>();
  }
  R<std::vector<User>> list_users() override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    std::vector<User> out;
    for (const auto& [id, user] : users_) out.push_back(user);
    return out;
  }
  R<User> create(const User& user) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    for (const auto& [id, existing] : users_) {
      if (lower(existing.email) == lower(user.email)) return StoreError::duplicate_email;
    }
    users_[user.id] = user;
    return user;
  }
  R<User> update(const User& user) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    if (!users_.contains(user.id)) return StoreError::not_found;
    users_[user.id] = user;
    return user;
  }
  R<bool> remove(const std::string& id) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    std::erase_if(tokens_, [&](const auto& kv) { return kv.second.first == id; });
    return users_.erase(id) > 0;
  }
  R<bool> insert_access_token(const std::string& token, const std::string& user_id,
                              TimePoint created_at) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    tokens_[token] = {user_id, created_at};
    return true;
  }
  R<std::optional<AccessTokenRecord>> find_access_token(const std::string& token,
                                                        std::optional<TimePoint> not_before) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end() || (not_before && it->second.second < *not_before))
      return std::optional<AccessTokenRecord>();
    AccessTokenRecord record{it->second.first, it->second.second};
    if (unreadable_created_at) record.created_at.reset();
    return std::optional<AccessTokenRecord>(std::move(record));
  }
  R<bool> delete_access_token(const std::string& token) override {
    if (!enter()) return StoreError::unavailable;
    std::lock_guard lock(mutex_);
    return tokens_.erase(token) > 0;
  }
  bool ping() override { return !down; }

  std::size_t token_count() {
    std::lock_guard lock(mutex_);
    return tokens_.size();
  }

 private:
  bool enter() {
    ++calls;
    return !down;
  }
  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
  }

  std::mutex mutex_;
  std::map<std::string, User> users_;
  std::map<std::string, std::pair<std::string, TimePoint>> tokens_;
};

}  // namespace doorman::test
