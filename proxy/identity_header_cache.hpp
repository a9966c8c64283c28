// Per worker: the identity header lines ("X-User-Id: ...\r\n" ...) of recently
// forwarded users, serialized once, so a forwarded request of a known user
// appends one string instead of building and formatting four header pairs.
// An entry is used only while the user's id, email, superuser and verified
// flags are still what it was built from: a user the user cache reloads with
// any change gets fresh lines on its next request, with no invalidation to miss.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "authcore/user.hpp"
#include "proxy/identity_headers.hpp"

namespace doorman::proxy {

class IdentityHeaderCache {
 public:
  // Slots in the direct-mapped table: bounded memory, no rehash, no eviction walk.
  static constexpr std::size_t kSlots = 256;

  // What `policy.identity_for(user)` gives, as header lines ending in CRLF
  // ("" for no user or an inactive one). Valid until the next call.
  std::string_view lines_for(const HeaderPolicy& policy, const authcore::User* user);
  // Forgets every entry (the next lines_for starts the table over).
  void clear() { policy_ = nullptr; }

 private:
  struct Entry {
    std::string id;  // empty: the slot is free
    std::string email;
    bool is_superuser = false;
    bool is_verified = false;
    std::string lines;
  };
  // Built for this policy (the worker's runtime); another one starts the table over.
  const HeaderPolicy* policy_ = nullptr;
  std::array<Entry, kSlots> entries_;
};

}  // namespace doorman::proxy
