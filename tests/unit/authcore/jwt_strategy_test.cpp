// JwtStrategy: reads fastapi-users' access JWTs, writes the same claims, and
// answers "no user" (never an error) for every bad token.
#include <doctest/doctest.h>

#include <thread>

#include "authcore/base64url.hpp"
#include "authcore/fixture_tokens.hpp"
#include "authcore/jwt_strategy.hpp"

namespace {

using namespace doorman::authcore;
using doorman::config::StrategyConfig;
using doorman::config::StrategyKind;

StrategyConfig jwt_config(std::optional<int> lifetime = 3600, std::string secret = "") {
  StrategyConfig c;
  c.type = StrategyKind::jwt;
  c.lifetime_seconds = lifetime;
  c.secret = secret.empty() ? doorman::test::fixture_tokens()["secret"].get<std::string>() : secret;
  return c;
}

User user_with_id(std::string id) {
  User u;
  u.id = std::move(id);
  u.email = "x@example.com";
  return u;
}

std::string payload_of(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return base64url_decode(token.substr(first + 1, second - first - 1)).value();
}

std::optional<std::string> read_id(JwtStrategy& strategy, std::string_view token) {
  const auto r = strategy.read(token);
  REQUIRE(r.ok());  // a JWT strategy never fails, it only finds no user
  return user_id_of(r.value());
}

const std::string kAliceId = "9283b342-9a83-4503-9771-9cf8129482aa";

}  // namespace

TEST_CASE("the fixture's access JWT names alice") {
  JwtStrategy strategy(jwt_config());
  CHECK(strategy.reads_without_blocking());
  CHECK(read_id(strategy, doorman::test::fixture_tokens()["alice_access_jwt"].get<std::string>()) ==
        kAliceId);

  JwtStrategy other(jwt_config(3600, "another-secret"));
  CHECK(read_id(other, doorman::test::fixture_tokens()["alice_access_jwt"].get<std::string>()) ==
        std::nullopt);
}

TEST_CASE("write issues sub, aud, exp in that order and reads back") {
  JwtStrategy strategy(jwt_config(3600));
  const auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto token = strategy.write(user_with_id(kAliceId));
  REQUIRE(token.ok());
  CHECK(token.value().starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));  // {"alg":"HS256","typ":"JWT"}
  const std::string payload = payload_of(token.value());
  const std::string prefix = R"({"sub":")" + kAliceId + R"(","aud":["fastapi-users:auth"],"exp":)";
  REQUIRE(payload.starts_with(prefix));
  const long long exp = std::stoll(payload.substr(prefix.size()));
  CHECK(exp >= before.time_since_epoch().count() + 3600);
  CHECK(exp <= before.time_since_epoch().count() + 3601);
  CHECK(read_id(strategy, token.value()) == kAliceId);

  CHECK(strategy.destroy(token.value(), user_with_id(kAliceId)).ok());
  CHECK(read_id(strategy, token.value()) == kAliceId);  // a JWT outlives logout, as upstream
}

TEST_CASE("no exp when the lifetime is null or 0; a negative one is already expired") {
  for (const auto lifetime : {std::optional<int>(), std::optional<int>(0)}) {
    JwtStrategy strategy(jwt_config(lifetime));
    const auto token = strategy.write(user_with_id(kAliceId)).value();
    CHECK(payload_of(token) == R"({"sub":")" + kAliceId + R"(","aud":["fastapi-users:auth"]})");
    CHECK(read_id(strategy, token) == kAliceId);
  }
  JwtStrategy expired(jwt_config(-10));
  CHECK(read_id(expired, expired.write(user_with_id(kAliceId)).value()) == std::nullopt);
}

TEST_CASE("sub must be a UUID string; it comes back canonical") {
  const auto secret = doorman::test::fixture_tokens()["secret"].get<std::string>();
  const JwtKey key(doorman::config::JwtAlgorithm::HS256, secret, "", "");
  JwtStrategy strategy(jwt_config());
  const auto token_with = [&](nlohmann::ordered_json sub, const char* audience = "fastapi-users:auth") {
    nlohmann::ordered_json claims;
    if (!sub.is_null()) claims["sub"] = sub;
    claims["aud"] = nlohmann::ordered_json::array({audience});
    return key.sign(claims);
  };
  CHECK(read_id(strategy, token_with("9283B3429A83450397719CF8129482AA")) == kAliceId);
  CHECK(read_id(strategy, token_with("{9283b342-9a83-4503-9771-9cf8129482aa}")) == kAliceId);
  CHECK(read_id(strategy, token_with("not-a-uuid")) == std::nullopt);
  CHECK(read_id(strategy, token_with("")) == std::nullopt);
  CHECK(read_id(strategy, token_with(42)) == std::nullopt);
  CHECK(read_id(strategy, token_with(nullptr)) == std::nullopt);  // no sub
  CHECK(read_id(strategy, token_with(kAliceId, "fastapi-users:verify")) == std::nullopt);
  CHECK(read_id(strategy, "garbage") == std::nullopt);
  CHECK(read_id(strategy, "") == std::nullopt);
}

TEST_CASE("a token read again comes from the verified-token cache, but never past exp nor for other bytes") {
  const auto secret = doorman::test::fixture_tokens()["secret"].get<std::string>();
  const JwtKey key(doorman::config::JwtAlgorithm::HS256, secret, "", "");
  JwtStrategy strategy(jwt_config());
  const auto now_seconds = [] {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  nlohmann::ordered_json claims;
  claims["sub"] = kAliceId;
  claims["aud"] = nlohmann::ordered_json::array({"fastapi-users:auth"});
  const auto exp = now_seconds() + 2;  // reads below take far less than the 1 s margin
  claims["exp"] = exp;
  const auto token = key.sign(claims);
  CHECK(read_id(strategy, token) == kAliceId);
  CHECK(read_id(strategy, token) == kAliceId);  // cached

  // A forged signature next to a cached token is still checked.
  // (A character inside the signature: the last one of 43 carries 2 unused bits, so
  // flipping it between e.g. 'A' and 'B' may decode to the very same signature.)
  std::string forged = token;
  char& inside = forged[forged.size() - 10];
  inside = inside == 'A' ? 'B' : 'A';
  CHECK(read_id(strategy, forged) == std::nullopt);
  CHECK(read_id(strategy, token + "x") == std::nullopt);

  // Another key never sees this strategy's entries.
  JwtStrategy other(jwt_config(3600, "another-secret"));
  CHECK(read_id(other, token) == std::nullopt);

  while (now_seconds() < exp) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(read_id(strategy, token) == std::nullopt);
}
