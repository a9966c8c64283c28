// PolicySnapshot building, the restart-needed comparison and SIGHUP reload
// (see policy_snapshot.hpp).
#include "proxy/policy_snapshot.hpp"

#include <exception>
#include <ostream>
#include <string_view>
#include <utility>

#include "config/config_loader.hpp"
#include "proxy/runtime.hpp"

namespace doorman::proxy {

PolicySnapshotPtr build_policy_snapshot(config::ConfigPtr config) {
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->access = std::make_shared<const AccessPolicy>(config->access);
  snapshot->headers = std::make_shared<const HeaderPolicy>(*config);
  snapshot->config = std::move(config);
  return snapshot;
}

namespace {

// Collects the key paths of differing fields. Plain field-by-field: the config
// structs have no operator== and config/ is not this file's to change.
class Differ {
 public:
  template <class T>
  void field(const std::string& path, const T& a, const T& b) {
    if (!(a == b)) changed_.push_back(path);
  }
  // For an optional section: presence first, then its fields.
  template <class T, class Fields>
  void optional(const std::string& path, const std::optional<T>& a, const std::optional<T>& b,
                Fields fields) {
    if (a.has_value() != b.has_value()) {
      changed_.push_back(path);
    } else if (a) {
      fields(path, *a, *b);
    }
  }
  // For a list: its length first, then each element's fields.
  template <class T, class Fields>
  void list(const std::string& path, const std::vector<T>& a, const std::vector<T>& b, Fields fields) {
    if (a.size() != b.size()) {
      changed_.push_back(path);
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i) fields(path + "[" + std::to_string(i) + "]", a[i], b[i]);
  }
  std::vector<std::string> take() { return std::move(changed_); }

 private:
  std::vector<std::string> changed_;
};

void compare_server(Differ& d, const config::ServerConfig& a, const config::ServerConfig& b) {
  d.field("server.listen", a.listen, b.listen);
  d.field("server.workers", a.workers, b.workers);
  d.field("server.admin_listen", a.admin_listen, b.admin_listen);
  d.field("server.max_header_bytes", a.max_header_bytes, b.max_header_bytes);
  d.field("server.max_body_bytes", a.max_body_bytes, b.max_body_bytes);
  d.field("server.header_timeout_seconds", a.header_timeout_seconds, b.header_timeout_seconds);
  d.field("server.idle_timeout_seconds", a.idle_timeout_seconds, b.idle_timeout_seconds);
  d.field("server.access_log", a.access_log, b.access_log);
  d.field("server.busy_poll_us", a.busy_poll_us, b.busy_poll_us);
  d.optional("server.tls", a.tls, b.tls, [&d](const std::string& p, const auto& x, const auto& y) {
    d.field(p + ".cert_file", x.cert_file, y.cert_file);
    d.field(p + ".key_file", x.key_file, y.key_file);
  });
}

void compare_users(Differ& d, const config::UsersConfig& a, const config::UsersConfig& b) {
  d.field("users.requires_verification", a.requires_verification, b.requires_verification);
  d.field("users.reset_password_token_secret", a.reset_password_token_secret, b.reset_password_token_secret);
  d.field("users.verification_token_secret", a.verification_token_secret, b.verification_token_secret);
  d.field("users.password_min_length", a.password_min_length, b.password_min_length);
  d.field("users.reset_password_token_lifetime_seconds", a.reset_password_token_lifetime_seconds,
          b.reset_password_token_lifetime_seconds);
  d.field("users.verification_token_lifetime_seconds", a.verification_token_lifetime_seconds,
          b.verification_token_lifetime_seconds);
  d.field("users.cache_ttl_ms", a.cache_ttl_ms, b.cache_ttl_ms);
  d.field("users.invalidation_redis_url", a.invalidation_redis_url, b.invalidation_redis_url);
}

void compare_backend(Differ& d, const std::string& p, const config::BackendConfig& a,
                     const config::BackendConfig& b) {
  d.field(p + ".name", a.name, b.name);
  const auto& at = a.transport;
  const auto& bt = b.transport;
  d.field(p + ".transport.type", at.type, bt.type);
  d.field(p + ".transport.cookie_name", at.cookie_name, bt.cookie_name);
  d.field(p + ".transport.cookie_max_age", at.cookie_max_age, bt.cookie_max_age);
  d.field(p + ".transport.cookie_path", at.cookie_path, bt.cookie_path);
  d.field(p + ".transport.cookie_domain", at.cookie_domain, bt.cookie_domain);
  d.field(p + ".transport.cookie_secure", at.cookie_secure, bt.cookie_secure);
  d.field(p + ".transport.cookie_httponly", at.cookie_httponly, bt.cookie_httponly);
  d.field(p + ".transport.cookie_samesite", at.cookie_samesite, bt.cookie_samesite);
  const auto& as = a.strategy;
  const auto& bs = b.strategy;
  d.field(p + ".strategy.type", as.type, bs.type);
  d.field(p + ".strategy.lifetime_seconds", as.lifetime_seconds, bs.lifetime_seconds);
  d.field(p + ".strategy.algorithm", as.algorithm, bs.algorithm);
  d.field(p + ".strategy.secret", as.secret, bs.secret);
  d.field(p + ".strategy.private_key_file", as.private_key_pem, bs.private_key_pem);
  d.field(p + ".strategy.public_key_file", as.public_key_pem, bs.public_key_pem);
  d.field(p + ".strategy.url", as.redis_url, bs.redis_url);
  d.field(p + ".strategy.key_prefix", as.key_prefix, bs.key_prefix);
}

void compare_oauth(Differ& d, const std::string& p, const config::OAuthConfig& a,
                   const config::OAuthConfig& b) {
  d.field(p + ".state_secret", a.state_secret, b.state_secret);
  d.field(p + ".associate", a.associate, b.associate);
  d.field(p + ".csrf_cookie.name", a.csrf_cookie.name, b.csrf_cookie.name);
  d.field(p + ".csrf_cookie.secure", a.csrf_cookie.secure, b.csrf_cookie.secure);
  d.field(p + ".csrf_cookie.httponly", a.csrf_cookie.httponly, b.csrf_cookie.httponly);
  d.field(p + ".csrf_cookie.samesite", a.csrf_cookie.samesite, b.csrf_cookie.samesite);
  d.list(p + ".providers", a.providers, b.providers,
         [&d](const std::string& q, const auto& x, const auto& y) {
           d.field(q + ".name", x.name, y.name);
           d.field(q + ".kind", x.kind, y.kind);
           d.field(q + ".client_id", x.client_id, y.client_id);
           d.field(q + ".client_secret", x.client_secret, y.client_secret);
           d.field(q + ".backend", x.backend, y.backend);
           d.field(q + ".associate_by_email", x.associate_by_email, y.associate_by_email);
           d.field(q + ".is_verified_by_default", x.is_verified_by_default, y.is_verified_by_default);
           d.field(q + ".redirect_url", x.redirect_url, y.redirect_url);
           d.field(q + ".scopes", x.scopes, y.scopes);
           d.field(q + ".issuer", x.issuer, y.issuer);
           d.field(q + ".authorize_url", x.authorize_url, y.authorize_url);
           d.field(q + ".token_url", x.token_url, y.token_url);
           d.field(q + ".userinfo_url", x.userinfo_url, y.userinfo_url);
         });
}

}  // namespace

std::vector<std::string> restart_needed_changes(const config::Config& a, const config::Config& b) {
  Differ d;
  compare_server(d, a.server, b.server);
  d.field("upstream.url", a.upstream.url, b.upstream.url);
  d.field("upstream.connect_timeout_ms", a.upstream.connect_timeout_ms, b.upstream.connect_timeout_ms);
  d.field("upstream.response_timeout_seconds", a.upstream.response_timeout_seconds,
          b.upstream.response_timeout_seconds);
  d.field("upstream.max_idle_per_worker", a.upstream.max_idle_per_worker, b.upstream.max_idle_per_worker);
  d.field("database.url", a.database.url, b.database.url);
  d.field("database.pool_size", a.database.pool_size, b.database.pool_size);
  d.field("secret", a.secret, b.secret);
  compare_users(d, a.users, b.users);
  d.list("auth.backends", a.auth.backends, b.auth.backends,
         [&d](const std::string& p, const auto& x, const auto& y) { compare_backend(d, p, x, y); });
  d.field("routes.auth_prefix", a.routes.auth_prefix, b.routes.auth_prefix);
  d.field("routes.users_prefix", a.routes.users_prefix, b.routes.users_prefix);
  d.field("routes.register", a.routes.register_, b.routes.register_);
  d.field("routes.verify", a.routes.verify, b.routes.verify);
  d.field("routes.reset_password", a.routes.reset_password, b.routes.reset_password);
  d.field("routes.users", a.routes.users, b.routes.users);
  d.optional("hooks", a.hooks, b.hooks, [&d](const std::string& p, const auto& x, const auto& y) {
    d.field(p + ".url", x.url, y.url);
    d.field(p + ".secret", x.secret, y.secret);
    d.field(p + ".timeout_ms", x.timeout_ms, y.timeout_ms);
  });
  d.field("outbound.ca_file", a.outbound.ca_file, b.outbound.ca_file);
  d.field("outbound.timeout_ms", a.outbound.timeout_ms, b.outbound.timeout_ms);
  d.optional("oauth", a.oauth, b.oauth,
             [&d](const std::string& p, const auto& x, const auto& y) { compare_oauth(d, p, x, y); });
  return d.take();
}

bool reload_policies(Runtime& runtime, std::ostream& err) {
  std::uint64_t generation = 0;
  const auto running = runtime.policies->load(generation);
  const auto& path = running->config->source_path;
  auto loaded = config::load_config_file(path);
  if (!loaded.ok()) {
    if (loaded.errors.empty()) err << "doorman: reload refused: " << path << ": not loaded\n";
    for (const auto& error : loaded.errors) err << "doorman: reload refused: " << error.to_string() << "\n";
    err.flush();
    return false;
  }
  const auto& next = *loaded.config;
  // Only the request policies change; everything else keeps its running value.
  auto merged = std::make_shared<config::Config>(*running->config);
  merged->access = next.access;
  merged->identity_headers = next.identity_headers;
  merged->forwarding = next.forwarding;
  PolicySnapshotPtr snapshot;
  try {
    snapshot = build_policy_snapshot(std::move(merged));
  } catch (const std::exception& e) {
    err << "doorman: reload refused: " << e.what() << std::endl;
    return false;
  }
  for (const auto& key : restart_needed_changes(*running->config, next)) {
    err << "doorman: reload: " << key << " changed; needs a restart, kept\n";
  }
  runtime.policies->publish(std::move(snapshot));
  err << "doorman: reloaded access rules and identity headers" << std::endl;
  return true;
}

}  // namespace doorman::proxy
