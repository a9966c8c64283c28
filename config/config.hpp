// The whole configuration schema of DESIGN.md §4 as plain typed structs.
// Loading and validation live in config_loader.*; nothing here does I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace doorman::config {

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
};

struct ServerConfig {
  std::string listen = "0.0.0.0:8000";
  int workers = 0;                          // 0 = one per core
  std::optional<std::string> admin_listen;  // DESIGN.md §4: omitted = no admin listener
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1048576;
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 60;
  bool access_log = true;
  int busy_poll_us = 0;  // 0 = workers sleep as soon as they have nothing to do
  std::optional<TlsConfig> tls;
};

struct UpstreamConfig {
  std::string url = "http://127.0.0.1:8080";
  // Parsed from url by the loader.
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  int connect_timeout_ms = 2000;
  int response_timeout_seconds = 60;
  int max_idle_per_worker = 64;
};

enum class DatabaseKind { sqlite, postgresql };

struct DatabaseConfig {
  std::string url = "sqlite:///doorman.db";
  DatabaseKind kind = DatabaseKind::sqlite;
  // sqlite: the file path; postgresql: a libpq connection string built from the URL.
  std::string connection;
  int pool_size = 4;
};

struct UsersConfig {
  bool requires_verification = false;
  std::string reset_password_token_secret;  // resolved: empty in YAML means `secret`
  std::string verification_token_secret;    // resolved: empty in YAML means `secret`
  int password_min_length = 8;
  int reset_password_token_lifetime_seconds = 3600;
  int verification_token_lifetime_seconds = 3600;
  int cache_ttl_ms = 1000;
  // Redis on which replicas announce user changes to each other's caches; absent:
  // the first redis strategy's url, if any, else none (the cache TTL bounds staleness).
  std::optional<std::string> invalidation_redis_url;
};

enum class TransportKind { bearer, cookie };
enum class SameSite { lax, strict, none };

struct TransportConfig {
  TransportKind type = TransportKind::bearer;
  // cookie only
  std::string cookie_name = "fastapiusersauth";
  std::optional<int> cookie_max_age;  // absent/null = session cookie
  std::string cookie_path = "/";
  std::optional<std::string> cookie_domain;
  bool cookie_secure = true;
  bool cookie_httponly = true;
  SameSite cookie_samesite = SameSite::lax;
};

enum class StrategyKind { jwt, database, redis };
enum class JwtAlgorithm { HS256, RS256, ES256 };

struct StrategyConfig {
  StrategyKind type = StrategyKind::jwt;
  std::optional<int> lifetime_seconds;  // null = no expiry
  // jwt
  JwtAlgorithm algorithm = JwtAlgorithm::HS256;
  std::string secret;           // resolved: defaults to the top-level secret
  std::string private_key_pem;  // RS256/ES256: read from private_key_file
  std::string public_key_pem;   // RS256/ES256: read from public_key_file
  // redis
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string key_prefix = "fastapi_users_token:";
};

struct BackendConfig {
  std::string name;
  TransportConfig transport;
  StrategyConfig strategy;
};

struct AuthConfig {
  std::vector<BackendConfig> backends;
};

struct RoutesConfig {
  std::string auth_prefix = "/auth";
  std::string users_prefix = "/users";
  bool register_ = true;  // YAML key `register`
  bool verify = true;
  bool reset_password = true;
  bool users = true;
};

struct HooksConfig {
  std::string url;  // empty = disabled
  std::string secret;
  int timeout_ms = 2000;
};

struct OutboundConfig {
  std::optional<std::string> ca_file;
  int timeout_ms = 5000;
};

enum class AccessLevel { anonymous, authenticated, verified, superuser, deny };

enum class MatchKind { path, prefix, regex };

struct AccessRule {
  MatchKind kind = MatchKind::prefix;
  std::string pattern;
  std::vector<std::string> methods;  // empty = every method; upper case
  AccessLevel access = AccessLevel::authenticated;
  bool ignore_case = false;
  int line = 0;  // YAML line, for messages
};

struct UnauthenticatedAnswer {
  int status = 401;
  std::optional<std::string> redirect;  // "/login?next={path}"
};

struct AccessConfig {
  AccessLevel default_access = AccessLevel::authenticated;
  UnauthenticatedAnswer unauthenticated;
  std::vector<AccessRule> rules;
};

struct IdentityHeadersConfig {
  std::string id = "X-User-Id";
  std::string email = "X-User-Email";
  std::string superuser = "X-User-Superuser";
  std::string verified = "X-User-Verified";
};

struct Cidr {
  std::string text;                   // as written, for messages
  std::vector<std::uint8_t> address;  // 4 or 16 bytes
  int prefix_length = 0;
};

struct ForwardingConfig {
  std::vector<Cidr> trusted_proxies;
  bool forward_credentials = true;
};

// OAuth (DESIGN §4 `oauth`, api-contract §11). Parsed and validated now; refused
// with "not supported yet" until config/features.hpp enables it.
enum class OAuthProviderKind { google, github, facebook, microsoft, oidc };

struct OAuthProviderConfig {
  std::string name;  // routes: {auth_prefix}/{name}/authorize, /callback
  OAuthProviderKind kind = OAuthProviderKind::oidc;
  std::string client_id;
  std::string client_secret;
  std::string backend;  // the auth backend that issues the session
  bool associate_by_email = false;
  bool is_verified_by_default = false;
  std::optional<std::string> redirect_url;  // null = this route's URL
  std::vector<std::string> scopes;
  // kind oidc: issuer (discovery) or the three endpoints
  std::string issuer;
  std::string authorize_url;
  std::string token_url;
  std::string userinfo_url;
};

struct OAuthCsrfCookieConfig {
  std::string name = "fastapiusersoauthcsrf";
  bool secure = true;
  bool httponly = true;
  SameSite samesite = SameSite::lax;
};

struct OAuthConfig {
  std::string state_secret;  // resolved: empty in YAML means `secret`
  std::vector<OAuthProviderConfig> providers;
  bool associate = true;
  OAuthCsrfCookieConfig csrf_cookie;
};

struct Config {
  ServerConfig server;
  UpstreamConfig upstream;
  DatabaseConfig database;
  std::string secret;
  UsersConfig users;
  AuthConfig auth;
  RoutesConfig routes;
  std::optional<HooksConfig> hooks;
  OutboundConfig outbound;
  AccessConfig access;
  IdentityHeadersConfig identity_headers;
  ForwardingConfig forwarding;
  std::string source_path;           // the file it was loaded from
  std::optional<OAuthConfig> oauth;  // absent = no OAuth routes
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace doorman::config
