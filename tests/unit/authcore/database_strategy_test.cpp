// DatabaseStrategy: opaque tokens written to and read from the access token
// table, lifetimes, a store that is down, and carol's token in the fixture database.
#include <doctest/doctest.h>

#include "authcore/database_strategy.hpp"
#include "authcore/fake_user_store.hpp"
#include "authcore/fixture_tokens.hpp"
#include "authcore/random_token.hpp"
#include "authcore/store_test_support.hpp"

namespace {

using namespace doorman::authcore;
using doorman::test::FakeUserStore;
using namespace std::chrono;

const std::string kUserId = "11111111-1111-4111-8111-111111111111";

User user_with_id(std::string id) {
  User u;
  u.id = std::move(id);
  return u;
}

}  // namespace

TEST_CASE("write stores a fresh opaque token that read resolves, destroy deletes it") {
  auto store = std::make_shared<FakeUserStore>();
  DatabaseStrategy strategy(store, 3600);
  CHECK_FALSE(strategy.reads_without_blocking());

  const auto token = strategy.write(user_with_id(kUserId));
  REQUIRE(token.ok());
  CHECK(token.value().size() == 43);
  CHECK(looks_like_opaque_token(token.value()));
  CHECK(strategy.write(user_with_id(kUserId)).value() != token.value());

  CHECK(user_id_of(strategy.read(token.value()).value()) == std::optional<std::string>(kUserId));
  CHECK(strategy.destroy(token.value(), user_with_id(kUserId)).value());
  CHECK(user_id_of(strategy.read(token.value()).value()) == std::nullopt);
  CHECK_FALSE(strategy.destroy(token.value(), user_with_id(kUserId)).value());  // already gone: no error
}

TEST_CASE("tokens that cannot be opaque never reach the store") {
  auto store = std::make_shared<FakeUserStore>();
  DatabaseStrategy strategy(store, 3600);
  const int before = store->calls;
  for (const char* token : {"", "short", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig",
                            "8Z5ygvLK-Xaw1HDdgQj8FCtVEZQ-kXBPs8zNbvNzHd!"}) {
    CAPTURE(token);
    CHECK(user_id_of(strategy.read(token).value()) == std::nullopt);
  }
  CHECK(store->calls == before);
}

TEST_CASE("a token older than the lifetime names no user; null or 0 means no limit") {
  auto store = std::make_shared<FakeUserStore>();
  const std::string token = new_opaque_token();
  REQUIRE(store->insert_access_token(token, kUserId, system_clock::now() - hours(2)).ok());

  CHECK(user_id_of(DatabaseStrategy(store, 3600).read(token).value()) == std::nullopt);
  CHECK(user_id_of(DatabaseStrategy(store, 3 * 3600).read(token).value()) ==
        std::optional<std::string>(kUserId));
  CHECK(user_id_of(DatabaseStrategy(store, std::nullopt).read(token).value()) ==
        std::optional<std::string>(kUserId));
  CHECK(user_id_of(DatabaseStrategy(store, 0).read(token).value()) == std::optional<std::string>(kUserId));
}

TEST_CASE("a read says when the token ends: created_at + lifetime, or never without a lifetime") {
  auto store = std::make_shared<FakeUserStore>();
  const std::string token = new_opaque_token();
  const auto created = system_clock::now() - minutes(10);
  REQUIRE(store->insert_access_token(token, kUserId, created).ok());
  CHECK(DatabaseStrategy(store, 3600).read(token).value()->expires_at == created + seconds(3600));
  CHECK_FALSE(DatabaseStrategy(store, std::nullopt).read(token).value()->expires_at.has_value());
  CHECK_FALSE(DatabaseStrategy(store, 0).read(token).value()->expires_at.has_value());

  // A row whose created_at cannot be read promises nothing past the read.
  store->unreadable_created_at = true;
  const auto before = system_clock::now();
  const auto read = DatabaseStrategy(store, 3600).read(token);
  REQUIRE(read.value().has_value());
  CHECK(read.value()->user_id == kUserId);
  CHECK(*read.value()->expires_at >= before);
  CHECK(*read.value()->expires_at <= system_clock::now());
}

TEST_CASE("a store that is down makes every operation unavailable") {
  auto store = std::make_shared<FakeUserStore>();
  DatabaseStrategy strategy(store, 3600);
  store->down = true;
  const auto read = strategy.read(new_opaque_token());
  REQUIRE_FALSE(read.ok());
  CHECK(read.error() == StrategyError::unavailable);
  CHECK_FALSE(strategy.write(user_with_id(kUserId)).ok());
  CHECK_FALSE(strategy.destroy(new_opaque_token(), user_with_id(kUserId)).ok());
}

TEST_CASE("carol's database token from fastapi-users 14 reads with a long lifetime") {
  doorman::test::TempDir dir;
  auto store =
      std::make_shared<SociUserStore>(doorman::test::sqlite_config(doorman::test::copy_fixture_db(dir)));
  const auto& tokens = doorman::test::fixture_tokens();
  const std::string token = tokens["carol_database_token"];
  const std::string carol_id = tokens["users"]["carol@example.com"]["id"];

  CHECK(user_id_of(DatabaseStrategy(store, 10 * 365 * 86400).read(token).value()) ==
        std::optional<std::string>(carol_id));
  CHECK(user_id_of(DatabaseStrategy(store, std::nullopt).read(token).value()) ==
        std::optional<std::string>(carol_id));

  // A token this process writes reads back from the same table, and logout removes it.
  DatabaseStrategy strategy(store, 3600);
  const auto written = strategy.write(user_with_id(carol_id)).value();
  CHECK(user_id_of(strategy.read(written).value()) == std::optional<std::string>(carol_id));
  CHECK(strategy.destroy(written, user_with_id(carol_id)).value());
  CHECK(user_id_of(strategy.read(written).value()) == std::nullopt);
}
