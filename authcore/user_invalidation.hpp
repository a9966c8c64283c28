// The seam through which a change to a user made by this process reaches the
// user caches of the other replicas (the proxy implements it over Redis
// pub/sub). authcore only announces; it never learns how the message travels.
#pragma once

#include <memory>
#include <string_view>

namespace doorman::authcore {

class InvalidationPublisher {
 public:
  virtual ~InvalidationPublisher() = default;
  // Announces that `user_id` changed (or was deleted). Called after the change is
  // committed, from the blocking pool; must not throw, and a failure to announce
  // never fails the change: the other replicas' cache TTL bounds the delay then.
  virtual void publish(std::string_view user_id) = 0;
};

using InvalidationPublisherPtr = std::shared_ptr<InvalidationPublisher>;

}  // namespace doorman::authcore
