// SQLAlchemy-style database URL parsing.
#include "config/database_url.hpp"
#include "config/percent_decode.hpp"

#include <array>

namespace doorman::config {

namespace {

// libpq keyword values: quoted when they hold spaces, quotes or backslashes, or are empty.
std::string pq_value(const std::string& value) {
  if (!value.empty() && value.find_first_of(" '\\") == std::string::npos) return value;
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string parse_sqlite(std::string_view rest, DatabaseTarget& out) {
  out.kind = DatabaseKind::sqlite;
  // rest follows "sqlite:"; SQLAlchemy: "//" + host (always empty) + "/" + path.
  if (rest == "//" || rest == "///" || rest == "///:memory:") {
    out.connection = ":memory:";
    return {};
  }
  if (rest.substr(0, 3) != "///")
    return "a sqlite URL is sqlite:///relative.db or sqlite:////absolute/path.db";
  const std::string_view path = rest.substr(3);
  if (path.find('?') != std::string_view::npos) return "query parameters in a sqlite URL are not supported";
  out.connection = std::string(path);
  return {};
}

std::string parse_postgresql(std::string_view rest, DatabaseTarget& out) {
  out.kind = DatabaseKind::postgresql;
  if (rest.substr(0, 2) != "//") return "a postgresql URL is postgresql://user:password@host:port/dbname";
  rest.remove_prefix(2);
  std::string_view query;
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view userinfo;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos) return "unterminated '[' in the host";
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return "bad host:port";
      port = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
  } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    for (char c : port)
      if (c < '0' || c > '9') return "port '" + std::string(port) + "' is not a number";
    if (port.size() > 5 || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
      return "port '" + std::string(port) + "' is not in 1..65535";
  }
  std::string user;
  std::string password;
  bool has_password = false;
  if (!userinfo.empty()) {
    const std::size_t colon = userinfo.find(':');
    if (!percent_decode(userinfo.substr(0, colon), user)) return "bad percent-encoding in the user name";
    if (colon != std::string_view::npos) {
      has_password = true;
      if (!percent_decode(userinfo.substr(colon + 1), password))
        return "bad percent-encoding in the password";
    }
  }
  std::string dbname;
  if (!percent_decode(path, dbname)) return "bad percent-encoding in the database name";

  std::string conn;
  const auto add = [&conn](const std::string& key, const std::string& value) {
    if (!conn.empty()) conn += ' ';
    conn += key + "=" + pq_value(value);
  };
  if (!host.empty()) add("host", std::string(host));
  if (!port.empty()) add("port", std::string(port));
  if (!dbname.empty()) add("dbname", dbname);
  if (!user.empty()) add("user", user);
  if (has_password) add("password", password);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string key;
    std::string value;
    if (eq == std::string_view::npos || !percent_decode(pair.substr(0, eq), key) ||
        !percent_decode(pair.substr(eq + 1), value) || key.empty())
      return "bad query parameter '" + std::string(pair) + "'";
    // asyncpg spells libpq's sslmode as ssl.
    if (key == "ssl") key = "sslmode";
    add(key, value);
  }
  out.connection = conn;
  return {};
}

}  // namespace

std::string parse_database_url(std::string_view url, DatabaseTarget& out) {
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos)
    return "must be a URL such as sqlite:///doorman.db or postgresql://host/db";
  const std::string_view scheme = url.substr(0, colon);
  const std::string_view rest = url.substr(colon + 1);
  static constexpr std::array<std::string_view, 3> sqlite_schemes{"sqlite", "sqlite+aiosqlite",
                                                                  "sqlite+pysqlite"};
  static constexpr std::array<std::string_view, 4> pg_schemes{"postgresql", "postgresql+asyncpg",
                                                              "postgresql+psycopg", "postgresql+psycopg2"};
  for (std::string_view s : sqlite_schemes)
    if (scheme == s) return parse_sqlite(rest, out);
  for (std::string_view s : pg_schemes)
    if (scheme == s) return parse_postgresql(rest, out);
  return "unknown database scheme '" + std::string(scheme) +
         "' (sqlite, sqlite+aiosqlite, postgresql, postgresql+asyncpg)";
}

std::string mask_url_password(std::string_view url) {
  const std::size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  const std::size_t authority_end = url.find_first_of("/?#", start + 3);
  const std::string_view authority =
      url.substr(start + 3, authority_end == std::string_view::npos ? std::string_view::npos
                                                                    : authority_end - start - 3);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string masked(url.substr(0, start + 3 + colon + 1));
  masked += "***";
  masked += url.substr(start + 3 + at);
  return masked;
}

}  // namespace doorman::config
