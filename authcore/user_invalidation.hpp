// The seam through which a change to a user, or a logout, made by this process
// reaches the user and token caches of the other replicas (the proxy
// implements it over Redis pub/sub). authcore only announces; it never learns
// how the message travels.
#pragma once

#include <memory>
#include <string_view>

#include "authcore/token_cache.hpp"

namespace doorman::authcore {

class InvalidationPublisher {
 public:
  virtual ~InvalidationPublisher() = default;
  // Announces that `user_id` changed (or was deleted). Called after the change is
  // committed, from the blocking pool; must not throw, and a failure to announce
  // never fails the change: the other replicas' cache TTL bounds the delay then.
  virtual void publish(std::string_view user_id) = 0;
  // Announces that the token with this digest was logged out, on the same terms.
  virtual void publish_token_revoked(const TokenCache::Digest& digest) = 0;
};

using InvalidationPublisherPtr = std::shared_ptr<InvalidationPublisher>;

}  // namespace doorman::authcore
