// A whole AuthApi over real authcore pieces (JWT and database strategies,
// bearer and cookie transports, user cache, a cheap Argon2 hasher) and the
// in-memory FakeUserStore; helpers to send a request and read the answer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authcore/authenticator.hpp"
#include "authcore/jwt.hpp"
#include "authcore/password.hpp"
#include "authcore/user_cache.hpp"
#include "authcore/uuid.hpp"
#include "config/config.hpp"
#include "routes/auth_api.hpp"
#include "routes/fake_user_store.hpp"

namespace doorman::routes::testing {

inline constexpr int kJwtBackend = 0;     // "jwt": bearer + JWT
inline constexpr int kCookieBackend = 1;  // "cookie": cookie + JWT
inline constexpr int kDbBackend = 2;      // "db": bearer + database

// Argon2id at the minimum cost: these tests check routes, not hashing.
inline std::shared_ptr<const authcore::PasswordHasher> cheap_hasher() {
  static const auto hasher =
      std::make_shared<const authcore::PasswordHasher>(authcore::PasswordHasherParams{1, 8u << 20});
  return hasher;
}

inline config::Config test_config() {
  config::Config config;
  config.secret = "routes-test-secret-0123456789abcdef";
  // Resolved by the config loader in production; distinct here so a token signed with the wrong one fails.
  config.users.verification_token_secret = "routes-test-verify-secret-0123456789";
  config.users.reset_password_token_secret = "routes-test-reset-secret-0123456789";
  config::BackendConfig jwt;
  jwt.name = "jwt";
  jwt.strategy.secret = config.secret;
  jwt.strategy.lifetime_seconds = 3600;
  config::BackendConfig cookie = jwt;
  cookie.name = "cookie";
  cookie.transport.type = config::TransportKind::cookie;
  cookie.transport.cookie_max_age = 3600;
  config::BackendConfig db;
  db.name = "db";
  db.strategy.type = config::StrategyKind::database;
  db.strategy.lifetime_seconds = 3600;
  config.auth.backends = {jwt, cookie, db};
  return config;
}

struct Request {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string content_type;
  std::string authorization;
  std::string cookie;
  std::string query;
};

inline std::optional<std::string> header(const HttpAnswer& answer, std::string_view name) {
  for (const auto& [key, value] : answer.headers)
    if (key == name) return value;
  return std::nullopt;
}

// The user object of api-contract.md, as the routes must answer it.
inline std::string user_body(const authcore::User& u) {
  const auto flag = [](bool b) { return b ? "true" : "false"; };
  return std::string(R"({"id":")") + u.id + R"(","email":")" + u.email + R"(","is_active":)" +
         flag(u.is_active) + R"(,"is_superuser":)" + flag(u.is_superuser) + R"(,"is_verified":)" +
         flag(u.is_verified) + "}";
}

// An HS256 JWT with exactly `claims`, to build the bad tokens the routes must refuse.
inline std::string sign_hs256(const std::string& secret, const nlohmann::ordered_json& claims) {
  return authcore::JwtKey(config::JwtAlgorithm::HS256, secret, {}, {}).sign(claims);
}

inline Request get_request(std::string path, std::string authorization = {}) {
  Request r;
  r.path = std::move(path);
  r.authorization = std::move(authorization);
  return r;
}

inline Request form_request(std::string path, std::string body) {
  Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.body = std::move(body);
  r.content_type = "application/x-www-form-urlencoded";
  return r;
}

inline Request json_request(std::string method, std::string path, std::string body) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

struct ApiFixture {
  std::shared_ptr<config::Config> config = std::make_shared<config::Config>(test_config());
  std::shared_ptr<FakeUserStore> store = std::make_shared<FakeUserStore>();
  std::shared_ptr<authcore::Authenticator> authenticator;
  std::vector<Event> events;
  std::unique_ptr<AuthApi> api;

  std::shared_ptr<const authcore::PasswordHasher> hasher;

  explicit ApiFixture(const std::function<void(config::Config&)>& tweak = nullptr,
                      std::shared_ptr<const authcore::PasswordHasher> route_hasher = cheap_hasher())
      : hasher(std::move(route_hasher)) {
    if (tweak) tweak(*config);
    // A live cache, so the tests also see that routes invalidate what they change.
    authenticator = std::make_shared<authcore::Authenticator>(
        authcore::build_backends(*config, store), store,
        std::make_shared<authcore::UserCache>(std::chrono::milliseconds(60000)));
    api = std::make_unique<AuthApi>(config, authenticator, hasher,
                                    [this](Event event) { events.push_back(std::move(event)); });
  }

  // Stored with the cheap hasher whatever the routes use (so a stronger route hasher asks for a rehash).
  authcore::User add_user(const std::string& email, const std::string& password = "correct horse",
                          bool active = true, bool verified = false, bool superuser = false) {
    authcore::User user;
    user.id = authcore::new_uuid4();
    user.email = email;
    user.hashed_password = cheap_hasher()->hash(password);
    user.is_active = active;
    user.is_verified = verified;
    user.is_superuser = superuser;
    store->users.push_back(user);
    return user;
  }

  std::optional<authcore::User> stored(const std::string& id) const {
    for (const auto& u : store->users)
      if (u.id == id) return u;
    return std::nullopt;
  }

  // A token for `user` written by backend `index`'s own strategy.
  std::string token_for(const authcore::User& user, int index = kJwtBackend) {
    return authenticator->backends().at(index).strategy->write(user).value();
  }
  std::string bearer_for(const authcore::User& user, int index = kJwtBackend) {
    return "Bearer " + token_for(user, index);
  }

  // match + handle/answer_non_route as proxy does; status 0 means "not an auth route: forwarded".
  HttpAnswer send(const Request& r) {
    const RouteMatch match = api->match(r.method, r.path);
    if (match.kind == RouteMatch::Kind::none) {
      HttpAnswer forwarded;
      forwarded.status = 0;
      return forwarded;
    }
    if (match.kind != RouteMatch::Kind::route) return api->answer_non_route(match, r.query);
    ApiRequest request;
    request.method = r.method;
    request.path = r.path;
    request.query = r.query;
    request.content_type = r.content_type;
    request.credentials.authorization = r.authorization;
    request.credentials.cookie = r.cookie;
    request.body = r.body;
    return api->handle(match, request);
  }
};

}  // namespace doorman::routes::testing
