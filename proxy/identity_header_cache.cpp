// IdentityHeaderCache (see identity_header_cache.hpp).
#include "proxy/identity_header_cache.hpp"

#include <functional>

namespace doorman::proxy {

std::string_view IdentityHeaderCache::lines_for(const HeaderPolicy& policy, const authcore::User* user) {
  if (user == nullptr || !user->is_active) return {};
  if (policy_ != &policy) {
    for (auto& entry : entries_) entry = Entry{};
    policy_ = &policy;
  }
  auto& entry = entries_[std::hash<std::string_view>{}(user->id) % kSlots];
  if (!entry.id.empty() && entry.id == user->id && entry.email == user->email &&
      entry.is_superuser == user->is_superuser && entry.is_verified == user->is_verified) {
    return entry.lines;
  }
  entry.id = user->id;
  entry.email = user->email;
  entry.is_superuser = user->is_superuser;
  entry.is_verified = user->is_verified;
  entry.lines.clear();
  for (const auto& [name, value] : policy.identity_for(user)) {
    entry.lines.append(name).append(": ").append(value).append("\r\n");
  }
  // (A user with an empty id, which no store yields, is simply rebuilt every time.)
  return entry.lines;
}

}  // namespace doorman::proxy
