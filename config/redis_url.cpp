// parse_redis_url: the subset of redis-py's URL grammar a fastapi-users
// deployment uses (host, port, db, password, unix sockets).
#include "config/redis_url.hpp"

#include <charconv>

#include "config/percent_decode.hpp"

namespace doorman::config {
namespace {

bool parse_int(std::string_view text, int min, int max, int& out) {
  if (text.empty()) return false;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return false;
  out = value;
  return true;
}

// Splits "[[user]:password@]rest" and decodes the user info.
std::string take_userinfo(std::string_view& authority, RedisEndpoint& out) {
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  const auto userinfo = authority.substr(0, at);
  authority.remove_prefix(at + 1);
  const auto colon = userinfo.find(':');
  // redis-py: "redis://secret@host" has no password (the text is a user name); keep that.
  if (!percent_decode(userinfo.substr(0, colon), out.username))
    return "bad percent-encoding in the user name";
  if (colon != std::string_view::npos && !percent_decode(userinfo.substr(colon + 1), out.password))
    return "bad percent-encoding in the password";
  return {};
}

// Reads "db=N" from a query string (other parameters are ignored, as redis-py
// passes them to the connection class).
std::string take_query_db(std::string_view query, RedisEndpoint& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (pair.rfind("db=", 0) == 0 && !parse_int(pair.substr(3), 0, 1 << 20, out.db))
      return "db must be a non-negative integer";
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::string RedisEndpoint::describe() const {
  if (!unix_path.empty()) return unix_path;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url) {
  RedisEndpoint out;
  std::string_view rest;
  bool unix_socket = false;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("unix://", 0) == 0) {
    rest = url.substr(7);
    unix_socket = true;
  } else if (url.rfind("rediss://", 0) == 0) {
    return std::string("rediss:// (TLS) is not supported by this build; use redis:// or unix://");
  } else {
    return std::string("must be a redis:// or unix:// URL");
  }

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);

  if (unix_socket) {
    // unix://[userinfo@]/path: the user info ends at the '@' before the first '/'.
    if (const auto slash = rest.find('/'); slash != std::string_view::npos && slash > 0) {
      auto authority = rest.substr(0, slash);
      if (authority.find('@') != std::string_view::npos) {
        if (auto error = take_userinfo(authority, out); !error.empty()) return error;
        if (!authority.empty()) return std::string("a unix:// URL names no host");
        rest = rest.substr(slash);
      }
    }
    if (rest.empty() || rest.front() != '/')
      return std::string("a unix:// URL needs an absolute socket path");
    out.unix_path = std::string(rest);
  } else {
    const auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    const auto path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (auto error = take_userinfo(authority, out); !error.empty()) return error;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
      const auto close = authority.find(']');
      if (close == std::string_view::npos) return std::string("unclosed '[' in the host");
      out.host = std::string(authority.substr(1, close - 1));
      const auto after = authority.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return std::string("unexpected text after the host");
        port = after.substr(1);
      }
    } else {
      const auto colon = authority.rfind(':');
      out.host = std::string(authority.substr(0, colon));
      if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    // redis-py defaults an empty host to localhost.
    if (out.host.empty()) out.host = "localhost";
    if (!port.empty() && !parse_int(port, 1, 65535, out.port)) return std::string("port must be 1-65535");
    if (!path.empty() && !parse_int(path, 0, 1 << 20, out.db))
      return std::string("the path must be a database number");
  }
  if (auto error = take_query_db(query, out); !error.empty()) return error;
  return out;
}

}  // namespace doorman::config
