// Tests for config/config_loader: defaults, every kind of error with its key
// path and line, env expansion, *_file secrets, not-yet-supported features,
// and that the shipped examples load.
#include "config/config_loader.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace doorman::config;

namespace {

const std::string valid_secret = "0123456789abcdef0123456789abcdef-test";

// The smallest valid config; tests append or replace sections.
std::string minimal(const std::string& extra = "") {
  return "secret: \"" + valid_secret +
         "\"\n"
         "auth:\n"
         "  backends:\n"
         "    - name: jwt\n"
         "      transport: {type: bearer}\n"
         "      strategy: {type: jwt, lifetime_seconds: 3600}\n" +
         extra;
}

// A per-test scratch directory for *_file secrets and keys.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "doorman-config-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    const auto file = path / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
};

LoadResult load(const std::string& yaml, const std::string& base_dir = ".") {
  return load_config_text(yaml, "test.yaml", base_dir);
}

std::string dump(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// Exactly one error, at `path` and `line`, whose message contains `text`.
void check_one_error(const LoadResult& r, const std::string& path, int line, const std::string& text) {
  INFO(dump(r));
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.ok());
  CHECK(r.config == nullptr);
  CHECK(r.errors[0].key_path == path);
  CHECK(r.errors[0].line == line);
  CHECK(r.errors[0].message.find(text) != std::string::npos);
}

bool has_error(const LoadResult& r, const std::string& path, int line, const std::string& text) {
  for (const ConfigError& e : r.errors)
    if (e.key_path == path && e.line == line && e.message.find(text) != std::string::npos) return true;
  return false;
}

struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
    if (value) {
      setenv(name.c_str(), value, 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("a minimal config loads with every default") {
  const LoadResult r = load(minimal());
  INFO(dump(r));
  REQUIRE(r.ok());
  const Config& c = *r.config;
  CHECK(c.server.listen == "0.0.0.0:8000");
  CHECK(c.server.workers == 0);
  CHECK_FALSE(c.server.admin_listen);  // omitted = disabled (DESIGN.md §4)
  CHECK(c.server.max_header_bytes == 16384);
  CHECK(c.server.max_body_bytes == 1048576);
  CHECK(c.server.access_log);
  CHECK(c.server.busy_poll_us == 0);
  CHECK_FALSE(c.server.tls);
  CHECK(c.upstream.host == "127.0.0.1");
  CHECK(c.upstream.port == 8080);
  CHECK(c.database.kind == DatabaseKind::sqlite);
  CHECK(c.database.connection == "doorman.db");
  CHECK(c.secret == valid_secret);
  CHECK(c.users.reset_password_token_secret == valid_secret);
  CHECK(c.users.verification_token_secret == valid_secret);
  REQUIRE(c.auth.backends.size() == 1);
  CHECK(c.auth.backends[0].name == "jwt");
  CHECK(c.auth.backends[0].strategy.secret == valid_secret);
  CHECK(c.auth.backends[0].strategy.lifetime_seconds == 3600);
  CHECK(c.auth.backends[0].strategy.algorithm == JwtAlgorithm::HS256);
  CHECK(c.routes.register_);
  CHECK_FALSE(c.hooks);
  CHECK(c.access.default_access == AccessLevel::authenticated);
  CHECK(c.access.unauthenticated.status == 401);
  CHECK_FALSE(c.access.unauthenticated.redirect);
  CHECK(c.identity_headers.id == "X-User-Id");
  CHECK(c.forwarding.trusted_proxies.empty());
  CHECK(c.forwarding.forward_credentials);
  CHECK(c.source_path == "test.yaml");
}

TEST_CASE("every section's values are read") {
  const LoadResult r = load(
      "server:\n"
      "  listen: \"[::]:9000\"\n"
      "  workers: 3\n"
      "  admin_listen: null\n"
      "  max_header_bytes: 8192\n"
      "  max_body_bytes: 100\n"
      "  header_timeout_seconds: 5\n"
      "  idle_timeout_seconds: 7\n"
      "  access_log: false\n"
      "  busy_poll_us: 50\n"
      "upstream: {url: \"http://app.internal/\", connect_timeout_ms: 10, response_timeout_seconds: 2, "
      "max_idle_per_worker: 0}\n"
      "database: {url: \"sqlite+aiosqlite:////data/users.db\", pool_size: 2}\n"
      "secret: \"" +
      valid_secret +
      "\"\n"
      "users:\n"
      "  requires_verification: true\n"
      "  reset_password_token_secret: reset-secret\n"
      "  verification_token_secret: \"\"\n"
      "  password_min_length: 12\n"
      "  reset_password_token_lifetime_seconds: 60\n"
      "  verification_token_lifetime_seconds: 61\n"
      "  cache_ttl_ms: 0\n"
      "auth:\n"
      "  backends:\n"
      "    - name: cookie-1\n"
      "      transport: {type: Cookie, cookie_name: sid, cookie_max_age: 60, cookie_path: /app,\n"
      "                  cookie_domain: example.com, cookie_secure: false, cookie_httponly: false,\n"
      "                  cookie_samesite: STRICT}\n"
      "      strategy: {type: database, lifetime_seconds: null}\n"
      "    - name: jwt_2\n"
      "      transport: {type: bearer}\n"
      "      strategy: {type: jwt, secret: other-secret}\n"
      "routes: {auth_prefix: /api/auth, users_prefix: \"\", register: false, verify: false, "
      "reset_password: false, users: false}\n"
      "outbound: {ca_file: null, timeout_ms: 100}\n"
      "access:\n"
      "  default: deny\n"
      "  unauthenticated: {redirect: \"/login?next={path}\"}\n"
      "  rules:\n"
      "    - {path: /healthz, access: anonymous}\n"
      "    - prefix: /api/\n"
      "      methods: [get, Post, GET]\n"
      "      ignore_case: true\n"
      "      access: verified\n"
      "    - {regex: \"^/x/[0-9]+$\", access: superuser}\n"
      "identity_headers: {id: X-Id, email: X-Mail, superuser: X-Su, verified: X-Ver}\n"
      "forwarding: {trusted_proxies: [10.0.0.0/8, \"::1\"], forward_credentials: false}\n");
  INFO(dump(r));
  REQUIRE(r.ok());
  const Config& c = *r.config;
  CHECK(c.server.listen == "[::]:9000");
  CHECK(c.server.workers == 3);
  CHECK_FALSE(c.server.admin_listen);
  CHECK(c.server.max_header_bytes == 8192);
  CHECK(c.server.max_body_bytes == 100);
  CHECK(c.server.header_timeout_seconds == 5);
  CHECK(c.server.idle_timeout_seconds == 7);
  CHECK_FALSE(c.server.access_log);
  CHECK(c.server.busy_poll_us == 50);
  CHECK(c.upstream.host == "app.internal");
  CHECK(c.upstream.port == 80);
  CHECK(c.upstream.connect_timeout_ms == 10);
  CHECK(c.upstream.max_idle_per_worker == 0);
  CHECK(c.database.connection == "/data/users.db");
  CHECK(c.database.pool_size == 2);
  CHECK(c.users.requires_verification);
  CHECK(c.users.reset_password_token_secret == "reset-secret");
  CHECK(c.users.verification_token_secret == valid_secret);
  CHECK(c.users.password_min_length == 12);
  CHECK(c.users.cache_ttl_ms == 0);
  REQUIRE(c.auth.backends.size() == 2);
  const TransportConfig& t = c.auth.backends[0].transport;
  CHECK(t.type == TransportKind::cookie);
  CHECK(t.cookie_name == "sid");
  CHECK(t.cookie_max_age == 60);
  CHECK(t.cookie_path == "/app");
  CHECK(t.cookie_domain == std::optional<std::string>("example.com"));
  CHECK_FALSE(t.cookie_secure);
  CHECK_FALSE(t.cookie_httponly);
  CHECK(t.cookie_samesite == SameSite::strict);
  CHECK(c.auth.backends[0].strategy.type == StrategyKind::database);
  CHECK_FALSE(c.auth.backends[0].strategy.lifetime_seconds);
  CHECK(c.auth.backends[1].strategy.secret == "other-secret");
  CHECK_FALSE(c.routes.register_);
  CHECK(c.routes.auth_prefix == "/api/auth");
  CHECK(c.routes.users_prefix.empty());
  CHECK(c.outbound.timeout_ms == 100);
  CHECK(c.access.default_access == AccessLevel::deny);
  CHECK(c.access.unauthenticated.redirect == std::optional<std::string>("/login?next={path}"));
  REQUIRE(c.access.rules.size() == 3);
  CHECK(c.access.rules[0].kind == MatchKind::path);
  CHECK(c.access.rules[0].line == 38);
  CHECK(c.access.rules[1].kind == MatchKind::prefix);
  CHECK(c.access.rules[1].methods == std::vector<std::string>{"GET", "POST"});
  CHECK(c.access.rules[1].ignore_case);
  CHECK(c.access.rules[1].access == AccessLevel::verified);
  CHECK(c.access.rules[1].line == 39);
  CHECK(c.access.rules[2].kind == MatchKind::regex);
  CHECK(c.access.rules[2].pattern == "^/x/[0-9]+$");
  CHECK(c.identity_headers.verified == "X-Ver");
  REQUIRE(c.forwarding.trusted_proxies.size() == 2);
  CHECK(c.forwarding.trusted_proxies[1].prefix_length == 128);
  CHECK_FALSE(c.forwarding.forward_credentials);
}

TEST_CASE("cookie transport defaults follow fastapi-users") {
  const LoadResult r =
      load(minimal("    - name: c\n"
                   "      transport: {type: cookie}\n"
                   "      strategy: {type: database}\n"));
  INFO(dump(r));
  REQUIRE(r.ok());
  const TransportConfig& t = r.config->auth.backends[1].transport;
  CHECK(t.cookie_name == "fastapiusersauth");
  CHECK_FALSE(t.cookie_max_age);
  CHECK(t.cookie_path == "/");
  CHECK_FALSE(t.cookie_domain);
  CHECK(t.cookie_secure);
  CHECK(t.cookie_httponly);
  CHECK(t.cookie_samesite == SameSite::lax);
  CHECK_FALSE(r.config->auth.backends[1].strategy.lifetime_seconds);
}

TEST_CASE("ConfigError::to_string is FILE:LINE: key.path: message") {
  ConfigError e;
  e.file = "doorman.yaml";
  e.line = 12;
  e.key_path = "auth.backends[0].strategy.type";
  e.message = "bad";
  CHECK(e.to_string() == "doorman.yaml:12: auth.backends[0].strategy.type: bad");
  const LoadResult r = load(minimal("server: {workers: many}\n"));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() == "test.yaml:7: server.workers: expected an integer, got 'many'");
}

TEST_CASE("unknown keys are errors at every level") {
  check_one_error(load(minimal("serverr: {}\n")), "serverr", 7, "unknown key");
  check_one_error(load(minimal("server: {listen: \"0.0.0.0:1\", wrokers: 2}\n")), "server.wrokers", 7,
                  "unknown key");
  check_one_error(load(minimal("access:\n  rules:\n    - {path: /a, access: anonymous, extra: 1}\n")),
                  "access.rules[0].extra", 9, "unknown key");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer, cookie_name: x}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].transport.cookie_name", 8, "unknown key");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer}\n"
                               "      strategy: {type: database, algorithm: HS256}\n")),
                  "auth.backends[1].strategy.algorithm", 9, "unknown key");
  check_one_error(load(minimal("    - name: b\n      nmae: x\n      transport: {type: bearer}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].nmae", 8, "unknown key");
}

TEST_CASE("duplicate keys are errors") {
  const LoadResult r = load(minimal("server:\n  workers: 1\n  workers: 2\n"));
  CHECK(has_error(r, "server.workers", 9, "duplicate key"));
}

TEST_CASE("wrong types name what was expected") {
  check_one_error(load(minimal("server: {workers: \"two\"}\n")), "server.workers", 7, "expected an integer");
  check_one_error(load(minimal("server: [1, 2]\n")), "server", 7, "expected a map, got a list");
  check_one_error(load(minimal("server: {access_log: maybe}\n")), "server.access_log", 7, "true or false");
  check_one_error(load(minimal("server: {listen: {a: 1}}\n")), "server.listen", 7,
                  "expected a string, got a map");
  check_one_error(load(minimal("access: {rules: {path: /}}\n")), "access.rules", 7,
                  "expected a list, got a map");
  check_one_error(load(minimal("access:\n  rules:\n    - /healthz\n")), "access.rules[0]", 9,
                  "expected a map");
  check_one_error(load(minimal("forwarding: {trusted_proxies: 10.0.0.0/8}\n")), "forwarding.trusted_proxies",
                  7, "expected a list");
  check_one_error(load("[]\n"), "", 1, "expected a map");
}

TEST_CASE("bad values") {
  check_one_error(load(minimal("server: {header_timeout_seconds: -1}\n")), "server.header_timeout_seconds", 7,
                  "must be >= 1");
  check_one_error(load(minimal("upstream: {connect_timeout_ms: 0}\n")), "upstream.connect_timeout_ms", 7,
                  "must be >= 1");
  check_one_error(load(minimal("server: {workers: 99999999999999999999}\n")), "server.workers", 7, "between");
  for (const auto& [value, message] :
       {std::pair{"-1", "between 0 and 10000"}, std::pair{"20000", "between 0 and 10000"},
        std::pair{"1.5", "expected an integer"}}) {
    check_one_error(load(minimal(std::string("server: {busy_poll_us: ") + value + "}\n")),
                    "server.busy_poll_us", 7, message);
  }
  check_one_error(load(minimal("server: {listen: \"0.0.0.0\"}\n")), "server.listen", 7, "host:port");
  check_one_error(load(minimal("server: {listen: \"0.0.0.0:70000\"}\n")), "server.listen", 7, "1..65535");
  check_one_error(load(minimal("server: {admin_listen: \"0.0.0.0:8000\"}\n")), "server.admin_listen", 7,
                  "must differ");
  check_one_error(load(minimal("upstream: {url: \"http://h:8080/api\"}\n")), "upstream.url", 7, "no path");
  check_one_error(load(minimal("upstream: {url: \"127.0.0.1:8080\"}\n")), "upstream.url", 7, "http://");
  check_one_error(load(minimal("database: {url: \"mysql://h/db\"}\n")), "database.url", 7,
                  "unknown database");
  check_one_error(load(minimal("database: {pool_size: 0}\n")), "database.pool_size", 7, "between 1");
  check_one_error(load(minimal("users: {password_min_length: 0}\n")), "users.password_min_length", 7,
                  "between");
  check_one_error(load(minimal("routes: {auth_prefix: auth}\n")), "routes.auth_prefix", 7, "start with '/'");
  check_one_error(load(minimal("routes: {users_prefix: /users/}\n")), "routes.users_prefix", 7,
                  "end with '/'");
  check_one_error(load(minimal("access: {default: everyone}\n")), "access.default", 7, "must be one of");
  check_one_error(load(minimal("forwarding: {trusted_proxies: [10.0.0.0/8, bogus]}\n")),
                  "forwarding.trusted_proxies[1]", 7, "not a CIDR");
  check_one_error(load(minimal("forwarding:\n  trusted_proxies:\n    - 10.0.0.0/40\n")),
                  "forwarding.trusted_proxies[0]", 9, "prefix length");
}

TEST_CASE("auth backends are checked") {
  check_one_error(load("secret: \"" + valid_secret + "\"\n"), "auth.backends", 0,
                  "at least one auth backend");
  check_one_error(load("secret: \"" + valid_secret + "\"\nauth: {backends: []}\n"), "auth.backends", 2,
                  "at least one auth backend");
  check_one_error(load(minimal("    - name: jwt\n      transport: {type: bearer}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].name", 7, "duplicate backend name");
  check_one_error(load(minimal("    - name: \"my backend\"\n      transport: {type: bearer}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].name", 7, "[A-Za-z0-9_-]+");
  check_one_error(load(minimal("    - name: b\n      strategy: {type: database}\n")),
                  "auth.backends[1].transport", 7, "transport is required");
  check_one_error(load(minimal("    - name: b\n      transport: {type: carrier-pigeon}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].transport.type", 8, "must be one of bearer, cookie");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer}\n"
                               "      strategy: {type: magic}\n")),
                  "auth.backends[1].strategy.type", 9, "must be one of jwt, database, redis");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer}\n"
                               "      strategy: {lifetime_seconds: 1}\n")),
                  "auth.backends[1].strategy.type", 9, "type is required");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer}\n"
                               "      strategy: {type: database, lifetime_seconds: -5}\n")),
                  "auth.backends[1].strategy.lifetime_seconds", 9, "must be >= 0");
  check_one_error(load(minimal("    - name: b\n      transport: {type: cookie, cookie_samesite: none, "
                               "cookie_secure: false}\n      strategy: {type: database}\n")),
                  "auth.backends[1].transport.cookie_samesite", 8, "cookie_secure");
  check_one_error(load(minimal("    - name: b\n      transport: {type: cookie, cookie_samesite: sometimes}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].transport.cookie_samesite", 8, "lax, strict, none");
  check_one_error(load(minimal("    - name: b\n      transport: {type: cookie, cookie_max_age: soon}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].transport.cookie_max_age", 8, "expected an integer");
  check_one_error(load(minimal("    - name: b\n      transport: {type: cookie, cookie_name: \"a b\"}\n"
                               "      strategy: {type: database}\n")),
                  "auth.backends[1].transport.cookie_name", 8, "cookie name");
  check_one_error(load(minimal("    - name: b\n      transport: {type: bearer}\n"
                               "      strategy: {type: jwt, algorithm: none}\n")),
                  "auth.backends[1].strategy.algorithm", 9, "HS256, RS256, ES256");
}

TEST_CASE("cookie_max_age may be null, absent or empty from the environment") {
  ScopedEnv unset("DOORMAN_TEST_MAX_AGE", nullptr);
  const LoadResult r = load(minimal(
      "    - name: c1\n      transport: {type: cookie, cookie_max_age: null}\n      strategy: {type: "
      "database}\n"
      "    - name: c2\n      transport: {type: cookie, cookie_max_age: \"${DOORMAN_TEST_MAX_AGE:-}\"}\n"
      "      strategy: {type: database}\n"
      "    - name: c3\n      transport: {type: cookie, cookie_max_age: 0}\n      strategy: {type: "
      "database}\n"));
  INFO(dump(r));
  REQUIRE(r.ok());
  CHECK_FALSE(r.config->auth.backends[1].transport.cookie_max_age);
  CHECK_FALSE(r.config->auth.backends[2].transport.cookie_max_age);
  CHECK(r.config->auth.backends[3].transport.cookie_max_age == 0);
}

TEST_CASE("access rules are checked") {
  const std::string head = minimal("access:\n  rules:\n");  // rules start on line 9
  check_one_error(load(head + "    - {access: anonymous}\n"), "access.rules[0]", 9,
                  "exactly one of path, prefix or regex");
  check_one_error(load(head + "    - {path: /a, prefix: /b, access: anonymous}\n"), "access.rules[0]", 9,
                  "exactly one of path, prefix or regex");
  check_one_error(
      load(head + "    - {path: /ok, access: anonymous}\n    - {prefix: admin/, access: superuser}\n"),
      "access.rules[1].prefix", 10, "start with '/'");
  check_one_error(load(head + "    - {path: healthz, access: anonymous}\n"), "access.rules[0].path", 9,
                  "start with '/'");
  check_one_error(load(head + "    - {regex: \"^/(unclosed$\", access: anonymous}\n"),
                  "access.rules[0].regex", 9, "regex does not compile");
  check_one_error(load(head + "    - {path: /a}\n"), "access.rules[0].access", 9, "access is required");
  check_one_error(load(head + "    - {path: /a, access: admins}\n"), "access.rules[0].access", 9,
                  "must be one of");
  check_one_error(load(head + "    - path: /a\n      access: anonymous\n      methods:\n        - GET\n"
                              "        - \"BAD METHOD\"\n"),
                  "access.rules[0].methods[1]", 13, "not an HTTP method");
  check_one_error(load(head + "    - {path: /a, methods: [], access: anonymous}\n"),
                  "access.rules[0].methods", 9, "must not be empty");
  check_one_error(load(head + "    - {path: /a, methods: GET, access: anonymous}\n"),
                  "access.rules[0].methods", 9, "expected a list");
  check_one_error(load(minimal("access: {unauthenticated: {status: 302}}\n")),
                  "access.unauthenticated.status", 7, "between 400 and 499");
  check_one_error(load(minimal("access: {unauthenticated: {status: 401, redirect: /login}}\n")),
                  "access.unauthenticated", 7, "exactly one of status or redirect");
  check_one_error(load(minimal("access: {unauthenticated: {}}\n")), "access.unauthenticated", 7,
                  "exactly one of status or redirect");
  check_one_error(load(minimal("access: {unauthenticated: {redirect: login}}\n")),
                  "access.unauthenticated.redirect", 7, "path or an http(s) URL");
}

TEST_CASE("identity header names are checked") {
  check_one_error(load(minimal("identity_headers: {id: \"X User\"}\n")), "identity_headers.id", 7,
                  "not a valid HTTP header name");
  check_one_error(load(minimal("identity_headers: {email: x_user_id}\n")), "identity_headers.email", 7,
                  "used for two identity headers");
  check_one_error(load(minimal("identity_headers: {verified: Authorization}\n")), "identity_headers.verified",
                  7, "reserved");
}

TEST_CASE("secret is required and at least 32 characters") {
  const std::string backends =
      "auth:\n  backends:\n    - {name: a, transport: {type: bearer}, strategy: {type: jwt}}\n";
  check_one_error(load(backends), "secret", 0, "secret is required");
  check_one_error(load("secret: \"\"\n" + backends), "secret", 1, "secret is required");
  check_one_error(load("secret: null\n" + backends), "secret", 1, "secret is required");
  check_one_error(load("secret: short\n" + backends), "secret", 1, "secret must be at least 32 characters");
}

TEST_CASE("env expansion in scalars") {
  ScopedEnv secret("DOORMAN_TEST_SECRET", "from-the-environment-0123456789abcdef");
  ScopedEnv port("DOORMAN_TEST_PORT", "9100");
  ScopedEnv unset("DOORMAN_TEST_UNSET", nullptr);
  const LoadResult r = load(
      "secret: ${DOORMAN_TEST_SECRET}\n"
      "server:\n"
      "  listen: \"0.0.0.0:${DOORMAN_TEST_PORT}\"\n"
      "  workers: ${DOORMAN_TEST_WORKERS:-2}\n"
      "users: {reset_password_token_secret: \"${DOORMAN_TEST_UNSET:-}\"}\n"
      "auth:\n  backends:\n    - {name: a, transport: {type: bearer}, strategy: {type: jwt}}\n");
  INFO(dump(r));
  REQUIRE(r.ok());
  CHECK(r.config->secret == "from-the-environment-0123456789abcdef");
  CHECK(r.config->server.listen == "0.0.0.0:9100");
  CHECK(r.config->server.workers == 2);
  CHECK(r.config->users.reset_password_token_secret == r.config->secret);
  CHECK(r.config->auth.backends[0].strategy.secret == r.config->secret);
}

TEST_CASE("an unset ${VAR} without default names the key and the variable") {
  ScopedEnv unset("DOORMAN_TEST_UNSET", nullptr);
  check_one_error(load(minimal("upstream:\n  url: \"http://${DOORMAN_TEST_UNSET}:80\"\n")), "upstream.url", 8,
                  "DOORMAN_TEST_UNSET is not set");
  const LoadResult r =
      load(minimal("    - name: b\n      transport: {type: bearer}\n"
                   "      strategy: {type: jwt, secret: \"${DOORMAN_TEST_UNSET}\"}\n"));
  check_one_error(r, "auth.backends[1].strategy.secret", 9, "DOORMAN_TEST_UNSET");
}

TEST_CASE("errors are all collected, in line order") {
  const LoadResult r = load(
      "server:\n"
      "  workers: -1\n"
      "  listen: nope\n"
      "upstream: {url: ftp://x}\n"
      "bogus: 1\n"
      "auth:\n"
      "  backends:\n"
      "    - {name: a, transport: {type: bearer}, strategy: {type: nope}}\n");
  INFO(dump(r));
  REQUIRE(r.errors.size() == 6);
  CHECK(r.errors[5].key_path == "secret");
  CHECK(r.errors[5].line == 0);
  // Sorted by line; errors without a line last.
  std::vector<std::string> paths;
  for (const ConfigError& e : r.errors) paths.push_back(e.key_path);
  CHECK(paths == std::vector<std::string>{"server.workers", "server.listen", "upstream.url", "bogus",
                                          "auth.backends[0].strategy.type", "secret"});
}

TEST_CASE("YAML syntax errors carry a line") {
  const LoadResult r = load("server:\n  listen: [\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line >= 2);
  CHECK(r.errors[0].message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("*_file secrets are read relative to the config directory") {
  TempDir dir;
  dir.write("secrets/main", valid_secret + "-file\n");
  dir.write("secrets/reset", "reset-from-file\r\n");
  dir.write("secrets/verify", "verify-from-file\n\n");
  dir.write("secrets/jwt", "jwt-from-file");
  const LoadResult r = load(
      "secret_file: secrets/main\n"
      "users:\n"
      "  reset_password_token_secret_file: secrets/reset\n"
      "  verification_token_secret_file: " +
          (dir.path / "secrets/verify").string() +
          "\n"
          "auth:\n  backends:\n"
          "    - {name: a, transport: {type: bearer}, strategy: {type: jwt, secret_file: secrets/jwt}}\n",
      dir.path.string());
  INFO(dump(r));
  REQUIRE(r.ok());
  CHECK(r.config->secret == valid_secret + "-file");
  CHECK(r.config->users.reset_password_token_secret == "reset-from-file");
  CHECK(r.config->users.verification_token_secret == "verify-from-file\n");  // only one newline stripped
  CHECK(r.config->auth.backends[0].strategy.secret == "jwt-from-file");
}

TEST_CASE("*_file errors") {
  TempDir dir;
  dir.write("s", valid_secret);
  check_one_error(load(minimal("users: {reset_password_token_secret_file: missing}\n"), dir.path.string()),
                  "users.reset_password_token_secret_file", 7, "cannot read");
  check_one_error(load(minimal("users: {verification_token_secret: x, verification_token_secret_file: s}\n"),
                       dir.path.string()),
                  "users.verification_token_secret_file", 7, "not both");
  const LoadResult both =
      load("secret: \"" + valid_secret + "\"\nsecret_file: s\n" +
               "auth:\n  backends:\n    - {name: a, transport: {type: bearer}, strategy: {type: jwt}}\n",
           dir.path.string());
  check_one_error(both, "secret_file", 2, "give either secret or secret_file, not both");
  const LoadResult missing = load(
      "secret_file: nope\nauth:\n  backends:\n"
      "    - {name: a, transport: {type: bearer}, strategy: {type: jwt}}\n",
      dir.path.string());
  check_one_error(missing, "secret_file", 1, "cannot read");
}

TEST_CASE("RS256/ES256 read PEM key files") {
  TempDir dir;
  dir.write("keys/pub.pem", "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n");
  dir.write("keys/priv.pem", "-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----\n");
  dir.write("keys/junk", "not a key");
  const std::string head = minimal("    - name: rs\n      transport: {type: bearer}\n      strategy:\n");
  const LoadResult r =
      load(head +
               "        type: jwt\n        algorithm: rs256\n"
               "        public_key_file: keys/pub.pem\n        private_key_file: keys/priv.pem\n",
           dir.path.string());
  INFO(dump(r));
  REQUIRE(r.ok());
  const StrategyConfig& s = r.config->auth.backends[1].strategy;
  CHECK(s.algorithm == JwtAlgorithm::RS256);
  CHECK(s.public_key_pem.find("BEGIN PUBLIC KEY") != std::string::npos);
  CHECK(s.private_key_pem.find("BEGIN PRIVATE KEY") != std::string::npos);

  const LoadResult verify_only = load(
      head + "        {type: jwt, algorithm: ES256, public_key_file: keys/pub.pem}\n", dir.path.string());
  CHECK(verify_only.ok());

  check_one_error(load(head + "        {type: jwt, algorithm: ES256, private_key_file: keys/priv.pem}\n",
                       dir.path.string()),
                  "auth.backends[1].strategy.public_key_file", 9, "required");
  check_one_error(
      load(head + "        {type: jwt, algorithm: RS256, public_key_file: keys/junk}\n", dir.path.string()),
      "auth.backends[1].strategy.public_key_file", 10, "not a PEM");
  check_one_error(load(head + "        {type: jwt, algorithm: RS256, public_key_file: keys/none.pem}\n",
                       dir.path.string()),
                  "auth.backends[1].strategy.public_key_file", 10, "cannot read");
  check_one_error(
      load(head + "        {type: jwt, algorithm: RS256, public_key_file: keys/pub.pem, secret: x}\n",
           dir.path.string()),
      "auth.backends[1].strategy.secret", 10, "only for algorithm HS256");
  check_one_error(load(head + "        {type: jwt, public_key_file: keys/pub.pem}\n", dir.path.string()),
                  "auth.backends[1].strategy.public_key_file", 10, "only for algorithm RS256 or ES256");
}

TEST_CASE("a hooks section loads") {
  const LoadResult r =
      load(minimal("hooks: {url: \"http://127.0.0.1:8080/_doorman/events\", secret: s, timeout_ms: 500}\n"));
  INFO(dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.config->hooks);
  CHECK(r.config->hooks->url == "http://127.0.0.1:8080/_doorman/events");
  CHECK(r.config->hooks->secret == "s");
  CHECK(r.config->hooks->timeout_ms == 500);
  // No url: hooks stay disabled.
  const LoadResult off = load(minimal("hooks: {secret: s}\n"));
  INFO(dump(off));
  REQUIRE(off.ok());
  CHECK_FALSE(off.config->hooks);
}

TEST_CASE("a postgresql URL loads as a libpq connection string") {
  // fastapi-users' async DATABASE_URL as is; the password percent-decoded and quoted for libpq.
  const LoadResult r = load(
      minimal("database: {url: \"postgresql+asyncpg://app:p%40ss%20w@db.internal:5433/users?ssl=require\", "
              "pool_size: 8}\n"));
  INFO(dump(r));
  REQUIRE(r.ok());
  CHECK(r.config->database.kind == DatabaseKind::postgresql);
  CHECK(r.config->database.connection ==
        "host=db.internal port=5433 dbname=users user=app password='p@ss w' sslmode=require");
  CHECK(r.config->database.pool_size == 8);
  const LoadResult plain = load(minimal("database: {url: \"postgresql://u@127.0.0.1/app\"}\n"));
  INFO(dump(plain));
  REQUIRE(plain.ok());
  CHECK(plain.config->database.connection == "host=127.0.0.1 dbname=app user=u");
}

TEST_CASE("a redis strategy loads with its url, key prefix and lifetime") {
  const LoadResult r =
      load(minimal("    - name: r\n      transport: {type: bearer}\n"
                   "      strategy: {type: redis, url: \"redis://h:6379/1\", key_prefix: \"p:\", "
                   "lifetime_seconds: 120}\n"));
  INFO(dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.config->auth.backends.size() == 2);
  const auto& strategy = r.config->auth.backends[1].strategy;
  CHECK(strategy.type == StrategyKind::redis);
  CHECK(strategy.redis_url == "redis://h:6379/1");
  CHECK(strategy.key_prefix == "p:");
  CHECK(strategy.lifetime_seconds == std::optional<int>(120));
  // Defaults: fastapi-users' key prefix, no expiry.
  const LoadResult d =
      load(minimal("    - name: r\n      transport: {type: bearer}\n      strategy: {type: redis}\n"));
  INFO(dump(d));
  REQUIRE(d.ok());
  CHECK(d.config->auth.backends[1].strategy.key_prefix == "fastapi_users_token:");
  CHECK(d.config->auth.backends[1].strategy.redis_url == "redis://127.0.0.1:6379/0");
  CHECK_FALSE(d.config->auth.backends[1].strategy.lifetime_seconds.has_value());
  // A URL the Redis client could not use is refused by check-config, not at serve time.
  const std::string redis_backend =
      "    - name: r\n      transport: {type: bearer}\n      strategy: {type: redis, url: ";
  check_one_error(load(minimal(redis_backend + "\"redis://h:99999/0\"}\n")), "auth.backends[1].strategy.url",
                  9, "port must be 1-65535");
  check_one_error(load(minimal(redis_backend + "\"rediss://h:6380/0\"}\n")), "auth.backends[1].strategy.url",
                  9, "TLS");
  check_one_error(load(minimal(redis_backend + "\"redis://h/x\"}\n")), "auth.backends[1].strategy.url", 9,
                  "database number");
}

TEST_CASE("features of later issues are refused, not ignored") {
  check_one_error(load(minimal("oauth:\n  providers: []\n")), "oauth", 7, "oauth is not supported yet");
  check_one_error(load(minimal("upstream: {url: \"https://app:8443\"}\n")), "upstream.url", 7,
                  "not supported yet");
  TempDir dir;
  dir.write("cert.pem", "c");
  dir.write("key.pem", "k");
  check_one_error(
      load(minimal("server: {tls: {cert_file: cert.pem, key_file: key.pem}}\n"), dir.path.string()),
      "server.tls", 7, "server.tls is not supported yet");
  // A refused section is still checked, so its errors are not hidden until it is enabled.
  const LoadResult hooks = load(minimal("hooks: {url: \"http://h/ev\", secret: s, timeout_ms: -1, x: 1}\n"));
  CHECK(has_error(hooks, "hooks.timeout_ms", 7, "must be >= 1"));
  CHECK(has_error(hooks, "hooks.x", 7, "unknown key"));
  const LoadResult oauth = load(minimal(
      "oauth:\n"
      "  state_secret: s\n"
      "  providers:\n"
      "    - {name: google, kind: google, client_id: id, client_secret: cs, backend: jwt, scopes: [openid]}\n"
      "    - {name: corp, kind: oidc, client_id: id, client_secret: cs, backend: nope}\n"
      "    - {name: gh, kind: github, client_id: id, backend: jwt, issuer: \"https://x\"}\n"
      "  csrf_cookie: {name: c, secure: false, colour: red}\n"));
  INFO(dump(oauth));
  CHECK(oauth.errors.size() == 6);
  CHECK(has_error(oauth, "oauth", 7, "oauth is not supported yet"));
  CHECK(has_error(oauth, "oauth.providers[1].backend", 11, "no auth backend is named 'nope'"));
  CHECK(has_error(oauth, "oauth.providers[1]", 11, "issuer, or authorize_url and token_url"));
  CHECK(has_error(oauth, "oauth.providers[2].client_secret", 12, "client_secret is required"));
  CHECK(has_error(oauth, "oauth.providers[2].issuer", 12, "only for kind oidc"));
  CHECK(has_error(oauth, "oauth.csrf_cookie.colour", 13, "unknown key"));
}

TEST_CASE("users.invalidation_redis_url is optional and must be a Redis URL") {
  const LoadResult none = load(minimal());
  REQUIRE(none.ok());
  CHECK_FALSE(none.config->users.invalidation_redis_url);
  const LoadResult set = load(minimal("users: {invalidation_redis_url: \"redis://:pw@cache:6380/2\"}\n"));
  INFO(dump(set));
  REQUIRE(set.ok());
  CHECK(set.config->users.invalidation_redis_url == std::optional<std::string>("redis://:pw@cache:6380/2"));
  // Empty (an unset ${VAR:-}) means absent, as for other optional URLs.
  const LoadResult empty = load(minimal("users: {invalidation_redis_url: \"\"}\n"));
  REQUIRE(empty.ok());
  CHECK_FALSE(empty.config->users.invalidation_redis_url);
  check_one_error(load(minimal("users: {invalidation_redis_url: \"http://cache:6379\"}\n")),
                  "users.invalidation_redis_url", 7, "redis://");
  check_one_error(load(minimal("users: {invalidation_redis_url: \"redis://[::1\"}\n")),
                  "users.invalidation_redis_url", 7, "unclosed '['");
}

TEST_CASE("load_config_file reports unreadable files and resolves against the file's directory") {
  TempDir dir;
  const LoadResult missing = load_config_file((dir.path / "nope.yaml").string());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string().find("nope.yaml: cannot read") != std::string::npos);

  dir.write("conf/secret.txt", valid_secret + "\n");
  const std::string path = dir.write("conf/doorman.yaml",
                                     "secret_file: secret.txt\nauth:\n  backends:\n    - {name: a, "
                                     "transport: {type: bearer}, strategy: {type: jwt}}\n");
  const LoadResult r = load_config_file(path);
  INFO(dump(r));
  REQUIRE(r.ok());
  CHECK(r.config->secret == valid_secret);
  CHECK(r.config->source_path == path);
}

TEST_CASE("the shipped examples load without errors") {
  ScopedEnv secret("DOORMAN_SECRET", "example-test-secret-0123456789abcdefghij");
  const std::string examples = DOORMAN_FIXTURES "/../../config/examples/";
  const LoadResult run = load_config_file(examples + "run.yaml");
  INFO(dump(run));
  REQUIRE(run.ok());
  const Config& c = *run.config;
  CHECK(c.server.listen == "0.0.0.0:8000");
  CHECK(c.server.admin_listen == std::optional<std::string>("127.0.0.1:9901"));
  CHECK(c.upstream.port == 8080);
  CHECK(c.database.connection == "doorman-demo.db");
  REQUIRE(c.auth.backends.size() == 2);
  CHECK(c.auth.backends[1].transport.type == TransportKind::cookie);
  CHECK_FALSE(c.auth.backends[1].transport.cookie_secure);
  CHECK(c.access.rules.size() == 3);

  const LoadResult full = load_config_file(examples + "full.yaml");
  INFO(dump(full));
  CHECK(full.ok());
}

TEST_CASE("run.yaml falls back to its demo secret when DOORMAN_SECRET is unset") {
  ScopedEnv unset("DOORMAN_SECRET", nullptr);
  const LoadResult run = load_config_file(DOORMAN_FIXTURES "/../../config/examples/run.yaml");
  INFO(dump(run));
  REQUIRE(run.ok());
  CHECK(run.config->secret.size() >= 40);
}
