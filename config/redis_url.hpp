// Where a Redis strategy's store is: the parsed form of its `url:` (redis-py's
// from_url forms, as a fastapi-users app configures them).
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace doorman::config {

struct RedisEndpoint {
  std::string host;  // TCP host (name or address); empty for a unix socket
  int port = 6379;
  std::string unix_path;  // unix:// socket path; empty for TCP
  std::string username;   // Redis 6 ACL user; empty = AUTH with the password only
  std::string password;   // empty = no AUTH
  int db = 0;             // SELECT on connect when not 0

  // host:port or the socket path, for messages (never the password).
  std::string describe() const;
};

// Parses redis://[[user]:password@]host[:port][/db][?db=N] and
// unix://[[user]:password@]/path[?db=N] (user info percent-decoded).
// rediss:// is refused: this build has no TLS client for Redis.
// The error is a one-line message naming what is wrong.
// Lives in config so that `check-config` refuses a bad URL before anything starts.
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url);

}  // namespace doorman::config
