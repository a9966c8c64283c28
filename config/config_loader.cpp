// Walks the YAML document of DESIGN.md §4 into a Config: every key is read
// through MapCursor (so unknown keys are caught), every value is checked, and
// all problems are returned together, in line order. Features of later issues
// are parsed and then refused through the switches in features.hpp.
#include "config/config_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "config/database_url.hpp"
#include "config/features.hpp"
#include "config/net_parse.hpp"
#include "config/redis_url.hpp"
#include "config/yaml_reader.hpp"

namespace doorman::config {

namespace {

constexpr std::size_t min_secret_length = 32;

std::string not_supported(const std::string& what) { return what + " is not supported yet"; }

MapCursor sub_map(MapCursor& parent, std::string_view key) {
  return MapCursor(parent.reader(), parent.take(key), parent.child_path(key), parent.key_line(key));
}

std::string upper(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

// Header names compare case-insensitively with `_` and `-` equal (DESIGN §4 stripping rule).
std::string fold_header(std::string_view name) {
  std::string out;
  for (char c : name) out += c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

void check_path_prefix(MapCursor& m, std::string_view key, const std::string& value, bool allow_empty) {
  if (value.empty() && allow_empty) return;
  if (value.empty() || value.front() != '/') {
    m.reader().error(m.child_path(key), m.key_line(key), "must start with '/'");
  } else if (value.size() > 1 && value.back() == '/') {
    m.reader().error(m.child_path(key), m.key_line(key), "must not end with '/'");
  }
}

void load_listen(MapCursor& m, std::string_view key, std::string& out) {
  std::string text;
  if (!m.get_string(key, text)) return;
  HostPort hp;
  if (const std::string err = parse_host_port(text, hp); !err.empty()) {
    m.reader().error(m.child_path(key), m.key_line(key), err + " (got '" + text + "')");
    return;
  }
  out = text;
}

void load_server(MapCursor m, ServerConfig& s) {
  if (!m.ok()) return;
  load_listen(m, "listen", s.listen);
  m.get_int("workers", s.workers, 0, 1024);
  if (m.has("admin_listen")) {
    std::optional<std::string> admin;
    if (m.get_optional_string("admin_listen", admin)) {
      HostPort hp;
      if (!admin) {
        s.admin_listen.reset();  // null or "" disables the admin listener
      } else if (const std::string err = parse_host_port(*admin, hp); !err.empty()) {
        m.reader().error(m.child_path("admin_listen"), m.key_line("admin_listen"),
                         err + " (got '" + *admin + "')");
      } else if (*admin == s.listen) {
        m.reader().error(m.child_path("admin_listen"), m.key_line("admin_listen"),
                         "must differ from server.listen");
      } else {
        s.admin_listen = admin;
      }
    }
  }
  m.get_size("max_header_bytes", s.max_header_bytes, 1024, 16 * 1024 * 1024);
  m.get_size("max_body_bytes", s.max_body_bytes, 1, INT_MAX);
  m.get_int("header_timeout_seconds", s.header_timeout_seconds, 1);
  m.get_int("idle_timeout_seconds", s.idle_timeout_seconds, 1);
  m.get_bool("access_log", s.access_log);
  m.get_int("busy_poll_us", s.busy_poll_us, 0, 10000);
  if (m.has("tls")) {
    const int line = m.key_line("tls");
    MapCursor tls = sub_map(m, "tls");
    if (tls.ok()) {
      TlsConfig t;
      const bool cert = tls.get_path("cert_file", t.cert_file);
      const bool key = tls.get_path("key_file", t.key_file);
      if (!tls.has("cert_file")) m.reader().error(tls.child_path("cert_file"), line, "cert_file is required");
      if (!tls.has("key_file")) m.reader().error(tls.child_path("key_file"), line, "key_file is required");
      tls.finish();
      if (cert && key) s.tls = t;
    }
    if (!supported::server_tls) m.reader().error(m.child_path("tls"), line, not_supported("server.tls"));
  }
  m.finish();
}

void load_upstream(MapCursor m, UpstreamConfig& u) {
  if (!m.ok()) return;
  std::string url;
  if (m.get_string("url", url)) {
    HttpUrl parsed;
    if (const std::string err = parse_http_url(url, parsed); !err.empty()) {
      m.reader().error(m.child_path("url"), m.key_line("url"), err + " (got '" + url + "')");
    } else {
      if (parsed.scheme == "https" && !supported::https_upstream)
        m.reader().error(m.child_path("url"), m.key_line("url"), not_supported("an https:// upstream"));
      u.url = url;
      u.host = parsed.endpoint.host;
      u.port = parsed.endpoint.port;
    }
  }
  m.get_int("connect_timeout_ms", u.connect_timeout_ms, 1);
  m.get_int("response_timeout_seconds", u.response_timeout_seconds, 1);
  m.get_int("max_idle_per_worker", u.max_idle_per_worker, 0);
  m.finish();
}

void set_database_target(DatabaseConfig& d) {
  DatabaseTarget target;
  if (parse_database_url(d.url, target).empty()) {
    d.kind = target.kind;
    d.connection = target.connection;
  }
}

void load_database(MapCursor m, DatabaseConfig& d) {
  if (!m.ok()) return;
  std::string url;
  if (m.get_string("url", url)) {
    DatabaseTarget target;
    if (const std::string err = parse_database_url(url, target); !err.empty()) {
      m.reader().error(m.child_path("url"), m.key_line("url"), err);
    } else {
      d.url = url;
      d.kind = target.kind;
      d.connection = target.connection;
      if (d.kind == DatabaseKind::postgresql && !supported::postgresql)
        m.reader().error(m.child_path("url"), m.key_line("url"), not_supported("a postgresql database"));
    }
  }
  m.get_int("pool_size", d.pool_size, 1, 1024);
  m.finish();
}

void load_users(MapCursor m, UsersConfig& u) {
  if (!m.ok()) return;
  m.get_bool("requires_verification", u.requires_verification);
  m.get_secret("reset_password_token_secret", u.reset_password_token_secret);
  m.get_secret("verification_token_secret", u.verification_token_secret);
  m.get_int("password_min_length", u.password_min_length, 1, 4096);
  m.get_int("reset_password_token_lifetime_seconds", u.reset_password_token_lifetime_seconds, 1);
  m.get_int("verification_token_lifetime_seconds", u.verification_token_lifetime_seconds, 1);
  m.get_int("cache_ttl_ms", u.cache_ttl_ms, 0);
  if (m.get_optional_string("invalidation_redis_url", u.invalidation_redis_url) && u.invalidation_redis_url) {
    const auto parsed = parse_redis_url(*u.invalidation_redis_url);
    if (auto* error = std::get_if<std::string>(&parsed))
      m.reader().error(m.child_path("invalidation_redis_url"), m.key_line("invalidation_redis_url"), *error);
  }
  m.finish();
}

void load_transport(MapCursor m, TransportConfig& t) {
  if (!m.ok()) return;
  if (!m.has("type")) {
    m.reader().error(m.child_path("type"), m.line(), "type is required (bearer or cookie)");
  } else if (!m.get_enum<TransportKind>(
                 "type", t.type, {{"bearer", TransportKind::bearer}, {"cookie", TransportKind::cookie}})) {
    return;  // keys depend on the type; checking them would only add noise
  }
  if (t.type == TransportKind::bearer) {
    m.finish("a bearer transport takes only type");
    return;
  }
  if (m.get_string("cookie_name", t.cookie_name) && !is_http_token(t.cookie_name))
    m.reader().error(m.child_path("cookie_name"), m.key_line("cookie_name"),
                     "must be a valid cookie name (HTTP token)");
  m.get_optional_int("cookie_max_age", t.cookie_max_age, 0);
  if (m.get_string("cookie_path", t.cookie_path) && (t.cookie_path.empty() || t.cookie_path.front() != '/'))
    m.reader().error(m.child_path("cookie_path"), m.key_line("cookie_path"), "must start with '/'");
  if (m.get_optional_string("cookie_domain", t.cookie_domain) && t.cookie_domain &&
      t.cookie_domain->find_first_of(" \t;,") != std::string::npos)
    m.reader().error(m.child_path("cookie_domain"), m.key_line("cookie_domain"), "must be a domain name");
  m.get_bool("cookie_secure", t.cookie_secure);
  m.get_bool("cookie_httponly", t.cookie_httponly);
  m.get_enum<SameSite>("cookie_samesite", t.cookie_samesite,
                       {{"lax", SameSite::lax}, {"strict", SameSite::strict}, {"none", SameSite::none}});
  if (t.cookie_samesite == SameSite::none && !t.cookie_secure)
    m.reader().error(m.child_path("cookie_samesite"), m.key_line("cookie_samesite"),
                     "cookie_samesite none needs cookie_secure: true (browsers drop the cookie otherwise)");
  m.finish("not a cookie transport key");
}

void load_pem(MapCursor& m, std::string_view key, std::string& out) {
  if (m.get_file_contents(key, out) && out.find("-----BEGIN ") == std::string::npos) {
    m.reader().error(m.child_path(key), m.key_line(key), "is not a PEM file");
    out.clear();
  }
}

void load_strategy(MapCursor m, StrategyConfig& s, const std::string& top_secret) {
  if (!m.ok()) return;
  const std::string type_path = m.child_path("type");
  const int type_line = m.key_line("type");
  if (!m.has("type")) {
    m.reader().error(type_path, m.line(), "type is required (jwt, database or redis)");
    return;
  }
  if (!m.get_enum<StrategyKind>(
          "type", s.type,
          {{"jwt", StrategyKind::jwt}, {"database", StrategyKind::database}, {"redis", StrategyKind::redis}}))
    return;
  m.get_optional_int("lifetime_seconds", s.lifetime_seconds, 0);
  switch (s.type) {
    case StrategyKind::jwt: {
      m.get_enum<JwtAlgorithm>(
          "algorithm", s.algorithm,
          {{"HS256", JwtAlgorithm::HS256}, {"RS256", JwtAlgorithm::RS256}, {"ES256", JwtAlgorithm::ES256}});
      if (s.algorithm == JwtAlgorithm::HS256) {
        m.get_secret("secret", s.secret);
        if (s.secret.empty()) s.secret = top_secret;
        for (std::string_view key : {"private_key_file", "public_key_file"}) {
          if (!m.has(key)) continue;
          m.take(key);
          m.reader().error(m.child_path(key), m.key_line(key), "is only for algorithm RS256 or ES256");
        }
      } else {
        for (std::string_view key : {"secret", "secret_file"}) {
          if (!m.has(key)) continue;
          m.take(key);
          m.reader().error(m.child_path(key), m.key_line(key), "is only for algorithm HS256");
        }
        // Verifying needs the public key; issuing (login) also the private one.
        // Without private_key_file the backend only verifies tokens issued elsewhere.
        if (!m.has("public_key_file"))
          m.reader().error(m.child_path("public_key_file"), m.line(),
                           "public_key_file is required for RS256/ES256");
        load_pem(m, "public_key_file", s.public_key_pem);
        load_pem(m, "private_key_file", s.private_key_pem);
      }
      m.finish("not a jwt strategy key");
      break;
    }
    case StrategyKind::database:
      m.finish("a database strategy takes type and lifetime_seconds");
      break;
    case StrategyKind::redis: {
      if (m.get_string("url", s.redis_url)) {
        const auto parsed = parse_redis_url(s.redis_url);
        if (auto* error = std::get_if<std::string>(&parsed))
          m.reader().error(m.child_path("url"), m.key_line("url"), *error);
      }
      m.get_string("key_prefix", s.key_prefix);
      m.finish("not a redis strategy key");
      if (!supported::redis_strategy)
        m.reader().error(type_path, type_line, not_supported("strategy type redis"));
      break;
    }
  }
}

bool is_backend_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void load_auth(MapCursor m, AuthConfig& a, const std::string& top_secret) {
  if (!m.ok()) return;
  const YAML::Node list = m.take("backends");
  const std::string path = m.child_path("backends");
  const int list_line = m.key_line("backends");
  if (!list.IsDefined() || list.IsNull()) {
    m.reader().error(path, list_line, "at least one auth backend is required");
  } else if (!list.IsSequence()) {
    m.reader().error(path, list_line, std::string("expected a list, got ") + YamlReader::kind_name(list));
  } else if (list.size() == 0) {
    m.reader().error(path, list_line, "at least one auth backend is required");
  } else {
    std::set<std::string> names;
    std::size_t i = 0;
    for (const YAML::Node& item : list) {
      const std::string item_path = path + "[" + std::to_string(i++) + "]";
      int line = YamlReader::line_of(item);
      if (line == 0) line = list_line;
      MapCursor b(m.reader(), item, item_path, line);
      if (!b.ok()) continue;
      BackendConfig backend;
      if (!b.has("name")) {
        m.reader().error(b.child_path("name"), line, "name is required");
      } else if (b.get_string("name", backend.name)) {
        if (!is_backend_name(backend.name)) {
          m.reader().error(b.child_path("name"), b.key_line("name"),
                           "must match [A-Za-z0-9_-]+ (got '" + backend.name + "')");
        } else if (!names.insert(backend.name).second) {
          m.reader().error(b.child_path("name"), b.key_line("name"),
                           "duplicate backend name '" + backend.name + "'");
        }
      }
      for (std::string_view key : {"transport", "strategy"}) {
        if (!b.has(key)) m.reader().error(b.child_path(key), line, std::string(key) + " is required");
      }
      load_transport(sub_map(b, "transport"), backend.transport);
      load_strategy(sub_map(b, "strategy"), backend.strategy, top_secret);
      b.finish();
      a.backends.push_back(std::move(backend));
    }
  }
  m.finish();
}

void load_routes(MapCursor m, RoutesConfig& r) {
  if (!m.ok()) return;
  if (m.get_string("auth_prefix", r.auth_prefix)) check_path_prefix(m, "auth_prefix", r.auth_prefix, true);
  if (m.get_string("users_prefix", r.users_prefix))
    check_path_prefix(m, "users_prefix", r.users_prefix, true);
  m.get_bool("register", r.register_);
  m.get_bool("verify", r.verify);
  m.get_bool("reset_password", r.reset_password);
  m.get_bool("users", r.users);
  m.finish();
}

void load_hooks(MapCursor m, std::optional<HooksConfig>& out) {
  if (!m.ok()) return;
  HooksConfig h;
  if (m.get_string("url", h.url) && !h.url.empty()) {
    HttpUrl parsed;
    if (const std::string err = parse_http_url(h.url, parsed, true); !err.empty())
      m.reader().error(m.child_path("url"), m.key_line("url"), err + " (got '" + h.url + "')");
  }
  m.get_secret("secret", h.secret);
  if (!h.url.empty() && h.secret.empty() && !m.has("secret") && !m.has("secret_file"))
    m.reader().error(m.child_path("secret"), m.line(), "secret is required when url is set");
  m.get_int("timeout_ms", h.timeout_ms, 1);
  m.finish();
  if (!h.url.empty()) out = h;
}

void load_outbound(MapCursor m, OutboundConfig& o) {
  if (!m.ok()) return;
  if (m.has("ca_file")) {
    if (m.take("ca_file").IsNull()) {
      o.ca_file.reset();
    } else {
      std::string path;
      if (m.get_path("ca_file", path)) o.ca_file = path;
    }
  }
  m.get_int("timeout_ms", o.timeout_ms, 1);
  m.finish();
}

bool get_access_level(MapCursor& m, std::string_view key, AccessLevel& out) {
  return m.get_enum<AccessLevel>(key, out,
                                 {{"anonymous", AccessLevel::anonymous},
                                  {"authenticated", AccessLevel::authenticated},
                                  {"verified", AccessLevel::verified},
                                  {"superuser", AccessLevel::superuser},
                                  {"deny", AccessLevel::deny}});
}

void load_unauthenticated(MapCursor m, UnauthenticatedAnswer& u) {
  if (!m.ok()) return;
  const bool has_status = m.has("status");
  const bool has_redirect = m.has("redirect");
  if (has_status == has_redirect)
    m.reader().error(m.path(), m.line(), "give exactly one of status or redirect");
  m.get_int("status", u.status, 400, 499);
  std::string redirect;
  if (m.get_string("redirect", redirect)) {
    if (redirect.empty() || (redirect.front() != '/' && redirect.rfind("http://", 0) != 0 &&
                             redirect.rfind("https://", 0) != 0)) {
      m.reader().error(m.child_path("redirect"), m.key_line("redirect"), "must be a path or an http(s) URL");
    } else {
      u.redirect = redirect;
    }
  }
  m.finish();
}

void load_rule(MapCursor m, AccessRule& rule) {
  if (!m.ok()) return;
  rule.line = m.line();
  int kinds = 0;
  for (std::string_view key : {"path", "prefix", "regex"}) kinds += m.has(key) ? 1 : 0;
  if (kinds != 1) m.reader().error(m.path(), m.line(), "give exactly one of path, prefix or regex");
  m.get_bool("ignore_case", rule.ignore_case);
  if (m.get_string("path", rule.pattern)) {
    rule.kind = MatchKind::path;
    check_path_prefix(m, "path", rule.pattern, false);
  }
  if (m.get_string("prefix", rule.pattern)) {
    rule.kind = MatchKind::prefix;
    if (rule.pattern.empty() || rule.pattern.front() != '/')
      m.reader().error(m.child_path("prefix"), m.key_line("prefix"), "must start with '/'");
  }
  if (m.get_string("regex", rule.pattern)) {
    rule.kind = MatchKind::regex;
    try {
      auto flags = std::regex::ECMAScript;
      if (rule.ignore_case) flags |= std::regex::icase;
      std::regex compiled(rule.pattern, flags);
    } catch (const std::regex_error& e) {
      m.reader().error(m.child_path("regex"), m.key_line("regex"),
                       std::string("regex does not compile: ") + e.what());
    }
  }
  std::vector<std::pair<std::string, int>> methods;
  if (m.has("methods") && m.get_string_list("methods", methods)) {
    if (methods.empty())
      m.reader().error(m.child_path("methods"), m.key_line("methods"), "must not be empty");
    std::size_t i = 0;
    for (auto& [method, line] : methods) {
      const std::string item_path = m.child_path("methods") + "[" + std::to_string(i++) + "]";
      std::string name = upper(method);
      if (!is_http_token(name)) {
        m.reader().error(item_path, line, "'" + method + "' is not an HTTP method");
      } else if (std::find(rule.methods.begin(), rule.methods.end(), name) == rule.methods.end()) {
        rule.methods.push_back(std::move(name));
      }
    }
  }
  if (!m.has("access")) {
    m.reader().error(m.child_path("access"), m.line(), "access is required");
  } else {
    get_access_level(m, "access", rule.access);
  }
  m.finish();
}

void load_access(MapCursor m, AccessConfig& a) {
  if (!m.ok()) return;
  get_access_level(m, "default", a.default_access);
  load_unauthenticated(sub_map(m, "unauthenticated"), a.unauthenticated);
  const YAML::Node rules = m.take("rules");
  const std::string path = m.child_path("rules");
  if (rules.IsDefined() && !rules.IsNull()) {
    if (!rules.IsSequence()) {
      m.reader().error(path, m.key_line("rules"),
                       std::string("expected a list, got ") + YamlReader::kind_name(rules));
    } else {
      std::size_t i = 0;
      for (const YAML::Node& item : rules) {
        int line = YamlReader::line_of(item);
        if (line == 0) line = m.key_line("rules");
        AccessRule rule;
        MapCursor rm(m.reader(), item, path + "[" + std::to_string(i++) + "]", line);
        if (!rm.ok()) continue;
        load_rule(std::move(rm), rule);
        a.rules.push_back(std::move(rule));
      }
    }
  }
  m.finish();
}

void load_identity_headers(MapCursor m, IdentityHeadersConfig& h) {
  if (!m.ok()) return;
  // Headers doorman must never overwrite: framing, routing and the client's own credentials.
  static const std::set<std::string> reserved{
      "host",    "content-length", "transfer-encoding",   "connection",    "upgrade", "te",
      "trailer", "keep-alive",     "proxy-authorization", "authorization", "cookie",  "set-cookie"};
  std::set<std::string> seen;
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"id", &h.id},
                            {"email", &h.email},
                            {"superuser", &h.superuser},
                            {"verified", &h.verified}}) {
    const bool given = m.get_string(key, *field);
    const std::string path = m.child_path(key);
    const int line = m.key_line(key);
    if (given && !is_http_token(*field)) {
      m.reader().error(path, line, "'" + *field + "' is not a valid HTTP header name");
      continue;
    }
    const std::string folded = fold_header(*field);
    if (reserved.count(folded) != 0) {
      m.reader().error(path, line, "'" + *field + "' is a reserved header");
    } else if (!seen.insert(folded).second) {
      m.reader().error(path, line, "'" + *field + "' is used for two identity headers");
    }
  }
  m.finish();
}

void load_forwarding(MapCursor m, ForwardingConfig& f) {
  if (!m.ok()) return;
  if (m.has("trusted_proxies") && !m.take("trusted_proxies").IsNull()) {
    std::vector<std::pair<std::string, int>> items;
    m.get_string_list("trusted_proxies", items);
    std::size_t i = 0;
    for (const auto& [text, line] : items) {
      Cidr cidr;
      const std::string item_path = m.child_path("trusted_proxies") + "[" + std::to_string(i++) + "]";
      if (const std::string err = parse_cidr(text, cidr); !err.empty()) {
        m.reader().error(item_path, line, err);
      } else {
        f.trusted_proxies.push_back(std::move(cidr));
      }
    }
  }
  m.get_bool("forward_credentials", f.forward_credentials);
  m.finish();
}

void load_oauth_provider(MapCursor m, OAuthProviderConfig& p, const AuthConfig& auth) {
  if (!m.ok()) return;
  for (std::string_view key : {"name", "kind", "client_id", "backend"})
    if (!m.has(key)) m.reader().error(m.child_path(key), m.line(), std::string(key) + " is required");
  if (m.get_string("name", p.name) && !is_backend_name(p.name))
    m.reader().error(m.child_path("name"), m.key_line("name"),
                     "must match [A-Za-z0-9_-]+ (got '" + p.name + "')");
  m.get_enum<OAuthProviderKind>("kind", p.kind,
                                {{"google", OAuthProviderKind::google},
                                 {"github", OAuthProviderKind::github},
                                 {"facebook", OAuthProviderKind::facebook},
                                 {"microsoft", OAuthProviderKind::microsoft},
                                 {"oidc", OAuthProviderKind::oidc}});
  m.get_string("client_id", p.client_id);
  const bool secret_given = m.has("client_secret") || m.has("client_secret_file");
  if (m.get_secret("client_secret", p.client_secret) && p.client_secret.empty())
    m.reader().error(m.child_path("client_secret"), m.key_line("client_secret"), "must not be empty");
  if (!secret_given) m.reader().error(m.child_path("client_secret"), m.line(), "client_secret is required");
  if (m.get_string("backend", p.backend)) {
    const bool known = std::any_of(auth.backends.begin(), auth.backends.end(),
                                   [&](const BackendConfig& b) { return b.name == p.backend; });
    if (!known)
      m.reader().error(m.child_path("backend"), m.key_line("backend"),
                       "no auth backend is named '" + p.backend + "'");
  }
  m.get_bool("associate_by_email", p.associate_by_email);
  m.get_bool("is_verified_by_default", p.is_verified_by_default);
  m.get_optional_string("redirect_url", p.redirect_url);
  std::vector<std::pair<std::string, int>> scopes;
  if (m.has("scopes") && m.get_string_list("scopes", scopes))
    for (auto& [scope, line] : scopes) p.scopes.push_back(std::move(scope));
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"issuer", &p.issuer},
                            {"authorize_url", &p.authorize_url},
                            {"token_url", &p.token_url},
                            {"userinfo_url", &p.userinfo_url}}) {
    if (!m.has(key)) continue;
    if (p.kind != OAuthProviderKind::oidc) {
      m.take(key);
      m.reader().error(m.child_path(key), m.key_line(key), "is only for kind oidc");
    } else if (m.get_string(key, *field) && field->rfind("https://", 0) != 0) {
      m.reader().error(m.child_path(key), m.key_line(key), "must be an https:// URL");
    }
  }
  if (p.kind == OAuthProviderKind::oidc && p.issuer.empty() &&
      (p.authorize_url.empty() || p.token_url.empty()))
    m.reader().error(m.path(), m.line(), "an oidc provider needs issuer, or authorize_url and token_url");
  m.finish();
}

void load_oauth(MapCursor m, std::optional<OAuthConfig>& out, const Config& c) {
  if (!m.ok()) return;
  OAuthConfig o;
  m.get_secret("state_secret", o.state_secret);
  if (o.state_secret.empty()) o.state_secret = c.secret;
  m.get_bool("associate", o.associate);
  {
    MapCursor csrf = sub_map(m, "csrf_cookie");
    if (csrf.ok()) {
      if (csrf.get_string("name", o.csrf_cookie.name) && !is_http_token(o.csrf_cookie.name))
        csrf.reader().error(csrf.child_path("name"), csrf.key_line("name"),
                            "must be a valid cookie name (HTTP token)");
      csrf.get_bool("secure", o.csrf_cookie.secure);
      csrf.get_bool("httponly", o.csrf_cookie.httponly);
      csrf.get_enum<SameSite>(
          "samesite", o.csrf_cookie.samesite,
          {{"lax", SameSite::lax}, {"strict", SameSite::strict}, {"none", SameSite::none}});
      csrf.finish();
    }
  }
  const YAML::Node list = m.take("providers");
  const std::string path = m.child_path("providers");
  if (list.IsDefined() && !list.IsNull()) {
    if (!list.IsSequence()) {
      m.reader().error(path, m.key_line("providers"),
                       std::string("expected a list, got ") + YamlReader::kind_name(list));
    } else {
      std::set<std::string> names;
      std::size_t i = 0;
      for (const YAML::Node& item : list) {
        int line = YamlReader::line_of(item);
        if (line == 0) line = m.key_line("providers");
        const std::string item_path = path + "[" + std::to_string(i++) + "]";
        OAuthProviderConfig provider;
        load_oauth_provider(MapCursor(m.reader(), item, item_path, line), provider, c.auth);
        if (!provider.name.empty() && !names.insert(provider.name).second)
          m.reader().error(item_path + ".name", line, "duplicate provider name '" + provider.name + "'");
        o.providers.push_back(std::move(provider));
      }
    }
  }
  m.finish();
  out = std::move(o);
}

void load_root(YamlReader& reader, const YAML::Node& root, Config& c) {
  MapCursor m(reader, root.IsNull() ? YAML::Node(YAML::NodeType::Map) : root, "", 1);
  if (!m.ok()) return;

  // The top-level secret first: users.* and jwt strategies default to it.
  const std::string secret_key = m.has("secret_file") && !m.has("secret") ? "secret_file" : "secret";
  const bool secret_read = m.get_secret("secret", c.secret);
  if (c.secret.empty()) {
    // An unreadable secret_file or a bad ${VAR} was reported already.
    if (secret_read || !m.has(secret_key))
      reader.error("secret", m.has(secret_key) ? m.key_line(secret_key) : 0, "secret is required");
  } else if (c.secret.size() < min_secret_length) {
    reader.error(secret_key, m.key_line(secret_key), "secret must be at least 32 characters");
  }

  load_server(sub_map(m, "server"), c.server);
  load_upstream(sub_map(m, "upstream"), c.upstream);
  load_database(sub_map(m, "database"), c.database);
  load_users(sub_map(m, "users"), c.users);
  if (c.users.reset_password_token_secret.empty()) c.users.reset_password_token_secret = c.secret;
  if (c.users.verification_token_secret.empty()) c.users.verification_token_secret = c.secret;
  if (!m.has("auth")) reader.error("auth.backends", 0, "at least one auth backend is required");
  load_auth(sub_map(m, "auth"), c.auth, c.secret);
  load_routes(sub_map(m, "routes"), c.routes);
  if (m.has("oauth")) {
    const int line = m.key_line("oauth");
    load_oauth(sub_map(m, "oauth"), c.oauth, c);
    if (!supported::oauth) reader.error("oauth", line, not_supported("oauth"));
  }
  if (m.has("hooks")) {
    const int line = m.key_line("hooks");
    load_hooks(sub_map(m, "hooks"), c.hooks);
    if (!supported::hooks) reader.error("hooks", line, not_supported("hooks"));
  }
  load_outbound(sub_map(m, "outbound"), c.outbound);
  load_access(sub_map(m, "access"), c.access);
  load_identity_headers(sub_map(m, "identity_headers"), c.identity_headers);
  load_forwarding(sub_map(m, "forwarding"), c.forwarding);
  m.finish();
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += (out.empty() ? "line " : ":") + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  return out + message;
}

LoadResult load_config_text(const std::string& yaml_text, const std::string& origin,
                            const std::string& base_dir) {
  LoadResult result;
  YamlReader reader(process_env(), origin, base_dir);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    reader.error("", e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg);
    result.errors = std::move(reader.errors());
    return result;
  }
  auto config = std::make_shared<Config>();
  set_database_target(config->database);  // the default URL's connection
  config->source_path = origin;
  load_root(reader, root, *config);
  result.errors = std::move(reader.errors());
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
                   });
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_config_file(const std::string& path) {
  std::string error;
  const std::optional<std::string> text = YamlReader::read_file(path, error);
  if (!text) {
    LoadResult result;
    ConfigError e;
    e.file = path;
    e.message = error;
    result.errors.push_back(std::move(e));
    return result;
  }
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";
  return load_config_text(*text, path, base_dir);
}

}  // namespace doorman::config
