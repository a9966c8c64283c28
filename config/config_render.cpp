// render_effective_config: the loaded Config back as YAML for
// `doorman check-config`, with every secret (and URL password) shown as "***".
#include <yaml-cpp/yaml.h>

#include "config/config_loader.hpp"
#include "config/database_url.hpp"

namespace doorman::config {

namespace {

constexpr const char* masked = "***";

const char* name_of(AccessLevel a) {
  switch (a) {
    case AccessLevel::anonymous:
      return "anonymous";
    case AccessLevel::authenticated:
      return "authenticated";
    case AccessLevel::verified:
      return "verified";
    case AccessLevel::superuser:
      return "superuser";
    case AccessLevel::deny:
      return "deny";
  }
  return "?";
}

const char* name_of(SameSite s) {
  switch (s) {
    case SameSite::lax:
      return "lax";
    case SameSite::strict:
      return "strict";
    case SameSite::none:
      return "none";
  }
  return "?";
}

const char* name_of(JwtAlgorithm a) {
  switch (a) {
    case JwtAlgorithm::HS256:
      return "HS256";
    case JwtAlgorithm::RS256:
      return "RS256";
    case JwtAlgorithm::ES256:
      return "ES256";
  }
  return "?";
}

const char* name_of(StrategyKind k) {
  switch (k) {
    case StrategyKind::jwt:
      return "jwt";
    case StrategyKind::database:
      return "database";
    case StrategyKind::redis:
      return "redis";
  }
  return "?";
}

const char* name_of(MatchKind k) {
  switch (k) {
    case MatchKind::path:
      return "path";
    case MatchKind::prefix:
      return "prefix";
    case MatchKind::regex:
      return "regex";
  }
  return "?";
}

template <typename T>
void kv(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}

template <typename T>
void kv_optional(YAML::Emitter& out, const char* key, const std::optional<T>& value) {
  out << YAML::Key << key << YAML::Value;
  if (value) {
    out << *value;
  } else {
    out << YAML::Null;
  }
}

void render_transport(YAML::Emitter& out, const TransportConfig& t) {
  out << YAML::Key << "transport" << YAML::Value << YAML::BeginMap;
  if (t.type == TransportKind::bearer) {
    kv(out, "type", "bearer");
  } else {
    kv(out, "type", "cookie");
    kv(out, "cookie_name", t.cookie_name);
    kv_optional(out, "cookie_max_age", t.cookie_max_age);
    kv(out, "cookie_path", t.cookie_path);
    kv_optional(out, "cookie_domain", t.cookie_domain);
    kv(out, "cookie_secure", t.cookie_secure);
    kv(out, "cookie_httponly", t.cookie_httponly);
    kv(out, "cookie_samesite", name_of(t.cookie_samesite));
  }
  out << YAML::EndMap;
}

void render_strategy(YAML::Emitter& out, const StrategyConfig& s) {
  out << YAML::Key << "strategy" << YAML::Value << YAML::BeginMap;
  kv(out, "type", name_of(s.type));
  kv_optional(out, "lifetime_seconds", s.lifetime_seconds);
  if (s.type == StrategyKind::jwt) {
    kv(out, "algorithm", name_of(s.algorithm));
    if (s.algorithm == JwtAlgorithm::HS256) {
      kv(out, "secret", masked);
    } else {
      kv(out, "private_key", s.private_key_pem.empty() ? "(none: verify only)" : masked);
      kv(out, "public_key", "PEM, " + std::to_string(s.public_key_pem.size()) + " bytes");
    }
  } else if (s.type == StrategyKind::redis) {
    kv(out, "url", mask_url_password(s.redis_url));
    kv(out, "key_prefix", s.key_prefix);
  }
  out << YAML::EndMap;
}

void render_rule(YAML::Emitter& out, const AccessRule& r) {
  out << YAML::BeginMap;
  kv(out, name_of(r.kind), r.pattern);
  if (!r.methods.empty()) {
    out << YAML::Key << "methods" << YAML::Value << YAML::Flow << r.methods;
  }
  if (r.ignore_case) kv(out, "ignore_case", true);
  kv(out, "access", name_of(r.access));
  out << YAML::EndMap;
}

}  // namespace

std::string render_effective_config(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "server" << YAML::Value << YAML::BeginMap;
  kv(out, "listen", c.server.listen);
  kv(out, "workers", c.server.workers);
  kv_optional(out, "admin_listen", c.server.admin_listen);
  kv(out, "max_header_bytes", c.server.max_header_bytes);
  kv(out, "max_body_bytes", c.server.max_body_bytes);
  kv(out, "header_timeout_seconds", c.server.header_timeout_seconds);
  kv(out, "idle_timeout_seconds", c.server.idle_timeout_seconds);
  kv(out, "access_log", c.server.access_log);
  kv(out, "busy_poll_us", c.server.busy_poll_us);
  if (c.server.tls) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    kv(out, "cert_file", c.server.tls->cert_file);
    kv(out, "key_file", c.server.tls->key_file);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  out << YAML::Key << "upstream" << YAML::Value << YAML::BeginMap;
  kv(out, "url", c.upstream.url);
  kv(out, "connect_timeout_ms", c.upstream.connect_timeout_ms);
  kv(out, "response_timeout_seconds", c.upstream.response_timeout_seconds);
  kv(out, "max_idle_per_worker", c.upstream.max_idle_per_worker);
  out << YAML::EndMap;

  out << YAML::Key << "database" << YAML::Value << YAML::BeginMap;
  kv(out, "url", mask_url_password(c.database.url));
  kv(out, "pool_size", c.database.pool_size);
  out << YAML::EndMap;

  kv(out, "secret", masked);

  out << YAML::Key << "users" << YAML::Value << YAML::BeginMap;
  kv(out, "requires_verification", c.users.requires_verification);
  kv(out, "reset_password_token_secret", masked);
  kv(out, "verification_token_secret", masked);
  kv(out, "password_min_length", c.users.password_min_length);
  kv(out, "reset_password_token_lifetime_seconds", c.users.reset_password_token_lifetime_seconds);
  kv(out, "verification_token_lifetime_seconds", c.users.verification_token_lifetime_seconds);
  kv(out, "cache_ttl_ms", c.users.cache_ttl_ms);
  if (c.users.invalidation_redis_url)
    kv(out, "invalidation_redis_url", mask_url_password(*c.users.invalidation_redis_url));
  out << YAML::EndMap;

  out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "backends" << YAML::Value << YAML::BeginSeq;
  for (const BackendConfig& b : c.auth.backends) {
    out << YAML::BeginMap;
    kv(out, "name", b.name);
    render_transport(out, b.transport);
    render_strategy(out, b.strategy);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;

  out << YAML::Key << "routes" << YAML::Value << YAML::BeginMap;
  kv(out, "auth_prefix", c.routes.auth_prefix);
  kv(out, "users_prefix", c.routes.users_prefix);
  kv(out, "register", c.routes.register_);
  kv(out, "verify", c.routes.verify);
  kv(out, "reset_password", c.routes.reset_password);
  kv(out, "users", c.routes.users);
  out << YAML::EndMap;

  if (c.hooks) {
    out << YAML::Key << "hooks" << YAML::Value << YAML::BeginMap;
    kv(out, "url", mask_url_password(c.hooks->url));
    kv(out, "secret", masked);
    kv(out, "timeout_ms", c.hooks->timeout_ms);
    out << YAML::EndMap;
  }

  if (c.oauth) {
    static constexpr const char* kinds[] = {"google", "github", "facebook", "microsoft", "oidc"};
    out << YAML::Key << "oauth" << YAML::Value << YAML::BeginMap;
    kv(out, "state_secret", masked);
    out << YAML::Key << "providers" << YAML::Value << YAML::BeginSeq;
    for (const OAuthProviderConfig& p : c.oauth->providers) {
      out << YAML::BeginMap;
      kv(out, "name", p.name);
      kv(out, "kind", kinds[static_cast<int>(p.kind)]);
      kv(out, "client_id", p.client_id);
      kv(out, "client_secret", masked);
      kv(out, "backend", p.backend);
      kv(out, "associate_by_email", p.associate_by_email);
      kv(out, "is_verified_by_default", p.is_verified_by_default);
      kv_optional(out, "redirect_url", p.redirect_url);
      out << YAML::Key << "scopes" << YAML::Value << YAML::Flow << p.scopes;
      if (p.kind == OAuthProviderKind::oidc) {
        kv(out, "issuer", p.issuer);
        kv(out, "authorize_url", p.authorize_url);
        kv(out, "token_url", p.token_url);
        kv(out, "userinfo_url", p.userinfo_url);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    kv(out, "associate", c.oauth->associate);
    out << YAML::Key << "csrf_cookie" << YAML::Value << YAML::Flow << YAML::BeginMap;
    kv(out, "name", c.oauth->csrf_cookie.name);
    kv(out, "secure", c.oauth->csrf_cookie.secure);
    kv(out, "httponly", c.oauth->csrf_cookie.httponly);
    kv(out, "samesite", name_of(c.oauth->csrf_cookie.samesite));
    out << YAML::EndMap << YAML::EndMap;
  }

  out << YAML::Key << "outbound" << YAML::Value << YAML::BeginMap;
  kv_optional(out, "ca_file", c.outbound.ca_file);
  kv(out, "timeout_ms", c.outbound.timeout_ms);
  out << YAML::EndMap;

  out << YAML::Key << "access" << YAML::Value << YAML::BeginMap;
  kv(out, "default", name_of(c.access.default_access));
  out << YAML::Key << "unauthenticated" << YAML::Value << YAML::Flow << YAML::BeginMap;
  if (c.access.unauthenticated.redirect) {
    kv(out, "redirect", *c.access.unauthenticated.redirect);
  } else {
    kv(out, "status", c.access.unauthenticated.status);
  }
  out << YAML::EndMap;
  out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const AccessRule& r : c.access.rules) render_rule(out, r);
  out << YAML::EndSeq << YAML::EndMap;

  out << YAML::Key << "identity_headers" << YAML::Value << YAML::BeginMap;
  kv(out, "id", c.identity_headers.id);
  kv(out, "email", c.identity_headers.email);
  kv(out, "superuser", c.identity_headers.superuser);
  kv(out, "verified", c.identity_headers.verified);
  out << YAML::EndMap;

  out << YAML::Key << "forwarding" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "trusted_proxies" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const Cidr& cidr : c.forwarding.trusted_proxies) out << cidr.text;
  out << YAML::EndSeq;
  kv(out, "forward_credentials", c.forwarding.forward_credentials);
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace doorman::config
