// Tests for render_effective_config: valid YAML, effective values shown, secrets masked.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "config/config_loader.hpp"

using namespace doorman::config;

TEST_CASE("render_effective_config shows effective values and masks every secret") {
  const std::string secret = "top-level-secret-0123456789abcdefghijkl";
  const LoadResult r = load_config_text(
      "secret: \"" + secret +
          "\"\n"
          "users: {reset_password_token_secret: reset-secret-value}\n"
          "database: {url: \"sqlite:///users.db\"}\n"
          "auth:\n  backends:\n"
          "    - {name: jwt, transport: {type: bearer}, strategy: {type: jwt, secret: jwt-secret-value}}\n"
          "    - {name: cookie, transport: {type: cookie}, strategy: {type: database, lifetime_seconds: "
          "60}}\n"
          "access:\n  rules:\n    - {prefix: /api/, methods: [post], access: verified}\n"
          "forwarding: {trusted_proxies: [10.0.0.0/8]}\n",
      "t.yaml", ".");
  REQUIRE(r.ok());
  const std::string text = render_effective_config(*r.config);
  CHECK(text.find(secret) == std::string::npos);
  CHECK(text.find("reset-secret-value") == std::string::npos);
  CHECK(text.find("jwt-secret-value") == std::string::npos);

  const YAML::Node doc = YAML::Load(text);
  CHECK(doc["secret"].as<std::string>() == "***");
  CHECK(doc["users"]["reset_password_token_secret"].as<std::string>() == "***");
  CHECK(doc["users"]["verification_token_secret"].as<std::string>() == "***");
  CHECK(doc["auth"]["backends"][0]["strategy"]["secret"].as<std::string>() == "***");
  CHECK(doc["server"]["listen"].as<std::string>() == "0.0.0.0:8000");
  CHECK(doc["server"]["admin_listen"].IsNull());  // omitted = disabled
  CHECK(doc["database"]["url"].as<std::string>() == "sqlite:///users.db");
  CHECK(doc["auth"]["backends"][1]["transport"]["cookie_max_age"].IsNull());
  CHECK(doc["auth"]["backends"][1]["transport"]["cookie_samesite"].as<std::string>() == "lax");
  CHECK(doc["auth"]["backends"][1]["strategy"]["lifetime_seconds"].as<int>() == 60);
  CHECK(doc["access"]["rules"][0]["prefix"].as<std::string>() == "/api/");
  CHECK(doc["access"]["rules"][0]["methods"][0].as<std::string>() == "POST");
  CHECK(doc["access"]["unauthenticated"]["status"].as<int>() == 401);
  CHECK(doc["forwarding"]["trusted_proxies"][0].as<std::string>() == "10.0.0.0/8");
}

TEST_CASE("render_effective_config masks a database URL password and oauth secrets") {
  Config c;
  c.database.url = "postgresql://app:hunter2@db/app";
  c.oauth.emplace();
  c.oauth->state_secret = "state-secret-value";
  c.oauth->providers.push_back({});
  c.oauth->providers[0].client_secret = "client-secret-value";
  c.hooks = HooksConfig{"http://h/ev", "hook-secret-value", 100};
  const std::string text = render_effective_config(c);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("postgresql://app:***@db/app") != std::string::npos);
  CHECK(text.find("secret-value") == std::string::npos);
  CHECK_NOTHROW(YAML::Load(text));
}
