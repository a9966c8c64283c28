// Authenticator: backend order, what counts as "no user", inactive users, a
// store that is down, the non-blocking cache path, and build_backends.
#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "authcore/authenticator.hpp"
#include "authcore/bearer_transport.hpp"
#include "authcore/cookie_transport.hpp"
#include "authcore/database_strategy.hpp"
#include "authcore/fake_user_store.hpp"
#include "authcore/fixture_tokens.hpp"
#include "authcore/jwt_strategy.hpp"
#include "authcore/redis_strategy.hpp"
#include "authcore/soci_user_store.hpp"
#include "authcore/store_test_support.hpp"

namespace {

using namespace doorman::authcore;
using doorman::test::FakeUserStore;
using namespace std::chrono;

// A strategy whose tokens are looked up in a table; "down" makes reads unavailable.
class TableStrategy final : public Strategy {
 public:
  TableStrategy(std::map<std::string, std::string> ids, bool non_blocking)
      : ids_(std::move(ids)), non_blocking_(non_blocking) {}

  bool down = false;
  int reads = 0;
  std::optional<system_clock::time_point> expires_at;  // of every token it reads

  bool reads_without_blocking() const override { return non_blocking_; }
  TokenRead read(std::string_view token) override {
    ++reads;
    if (down) return StrategyError::unavailable;
    const auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::optional<TokenOwner>();
    return std::optional<TokenOwner>(TokenOwner{it->second, expires_at});
  }
  Result<std::string, StrategyError> write(const User& user) override { return "token-of-" + user.id; }
  void forget(const std::string& token) { ids_.erase(token); }
  Result<bool, StrategyError> destroy(std::string_view, const User&) override { return true; }

 private:
  std::map<std::string, std::string> ids_;
  bool non_blocking_;
};

const std::string kAlice = "9283b342-9a83-4503-9771-9cf8129482aa";
const std::string kBob = "1d9e73fd-3aff-4ebd-a778-390dc2df0517";
const std::string kDave = "1b1f8086-e5cd-4b58-ae58-88a0946cbb45";
const std::string kGhost = "00000000-0000-4000-8000-000000000000";

User make_user(const std::string& id, const std::string& email, bool active = true) {
  User u;
  u.id = id;
  u.email = email;
  u.is_active = active;
  return u;
}

doorman::config::TransportConfig cookie_transport_config() {
  doorman::config::TransportConfig c;
  c.type = doorman::config::TransportKind::cookie;
  return c;
}

// Backend 0: bearer + non-blocking table ("jwt"); backend 1: cookie + blocking table ("database").
struct Setup {
  std::shared_ptr<FakeUserStore> store = std::make_shared<FakeUserStore>();
  std::shared_ptr<TableStrategy> jwt = std::make_shared<TableStrategy>(
      std::map<std::string, std::string>{{"jwt-alice", kAlice}, {"jwt-dave", kDave}, {"jwt-ghost", kGhost}},
      true);
  std::shared_ptr<TableStrategy> db =
      std::make_shared<TableStrategy>(std::map<std::string, std::string>{{"db-bob", kBob}}, false);
  Authenticator auth;

  // The token cache is off unless a test asks for it.
  explicit Setup(milliseconds ttl = milliseconds(60000), milliseconds token_ttl = milliseconds(0))
      : auth({Backend{"jwt", std::make_shared<BearerTransport>(), jwt},
              Backend{"cookie", std::make_shared<CookieTransport>(cookie_transport_config()), db}},
             store, std::make_shared<UserCache>(ttl), std::make_shared<TokenCache>(token_ttl)) {
    store->add(make_user(kAlice, "alice@example.com"));
    store->add(make_user(kBob, "bob@example.com"));
    store->add(make_user(kDave, "dave@example.com", false));
  }
};

RequestCredentials creds(std::string_view authorization, std::string_view cookie = "") {
  return RequestCredentials{authorization, cookie};
}

// Records what the authenticator announces.
struct RecordingPublisher final : InvalidationPublisher {
  std::vector<std::string> users;
  std::vector<TokenCache::Digest> tokens;
  void publish(std::string_view user_id) override { users.emplace_back(user_id); }
  void publish_token_revoked(const TokenCache::Digest& digest) override { tokens.push_back(digest); }
};

}  // namespace

TEST_CASE("backends are tried in order; the first user wins") {
  Setup s;
  auto both = s.auth.authenticate(creds("Bearer jwt-alice", "fastapiusersauth=db-bob"));
  CHECK(both.status == AuthStatus::authenticated);
  REQUIRE(both.user != nullptr);
  CHECK(both.user->id == kAlice);
  CHECK(both.token == "jwt-alice");
  CHECK(both.backend_index == 0);
  CHECK(s.db->reads == 0);  // decided before the second backend

  auto cookie_only = s.auth.authenticate(creds("", "fastapiusersauth=db-bob"));
  CHECK(cookie_only.status == AuthStatus::authenticated);
  CHECK(cookie_only.user->id == kBob);
  CHECK(cookie_only.token == "db-bob");
  CHECK(cookie_only.backend_index == 1);

  // An unknown token, or a token naming a deleted user, passes to the next backend.
  for (const char* bearer : {"Bearer nonsense", "Bearer jwt-ghost", "Basic jwt-alice"}) {
    CAPTURE(bearer);
    auto next = s.auth.authenticate(creds(bearer, "fastapiusersauth=db-bob"));
    CHECK(next.status == AuthStatus::authenticated);
    CHECK(next.backend_index == 1);
  }

  auto nobody = s.auth.authenticate(creds("Bearer jwt-ghost", "fastapiusersauth=nothing"));
  CHECK(nobody.status == AuthStatus::no_user);
  CHECK_FALSE(nobody.user != nullptr);
  CHECK(nobody.backend_index == -1);
  CHECK(s.auth.authenticate(creds("")).status == AuthStatus::no_user);
}

TEST_CASE("an inactive user is returned: the caller decides") {
  Setup s;
  auto outcome = s.auth.authenticate(creds("Bearer jwt-dave"));
  CHECK(outcome.status == AuthStatus::authenticated);
  REQUIRE(outcome.user != nullptr);
  CHECK_FALSE(outcome.user->is_active);
}

TEST_CASE("a store or strategy that is down: unavailable unless another backend decides") {
  Setup s;
  s.store->down = true;
  CHECK(s.auth.authenticate(creds("Bearer jwt-alice")).status == AuthStatus::unavailable);
  CHECK(s.auth.authenticate(creds("")).status == AuthStatus::no_user);  // nothing needed the store

  s.store->down = false;
  s.jwt->down = true;
  auto rescued = s.auth.authenticate(creds("Bearer jwt-alice", "fastapiusersauth=db-bob"));
  CHECK(rescued.status == AuthStatus::authenticated);
  CHECK(rescued.backend_index == 1);
  CHECK(s.auth.authenticate(creds("Bearer jwt-alice", "fastapiusersauth=nothing")).status ==
        AuthStatus::unavailable);
}

TEST_CASE("a cached user is served without blocking and without the store") {
  Setup s;
  // Cache miss: the non-blocking walk gives up.
  CHECK_FALSE(s.auth.try_authenticate_without_blocking(creds("Bearer jwt-alice")).has_value());
  CHECK(s.store->calls == 0);

  REQUIRE(s.auth.authenticate(creds("Bearer jwt-alice")).status == AuthStatus::authenticated);
  const int calls = s.store->calls;
  s.store->down = true;  // proves the hit never touches the store
  const auto hit = s.auth.try_authenticate_without_blocking(creds("Bearer jwt-alice"));
  REQUIRE(hit.has_value());
  CHECK(hit->status == AuthStatus::authenticated);
  CHECK(hit->user->id == kAlice);
  CHECK(hit->token == "jwt-alice");
  CHECK(hit->backend_index == 0);
  CHECK(s.auth.authenticate(creds("Bearer jwt-alice")).status ==
        AuthStatus::authenticated);  // blocking path uses the cache too
  CHECK(s.store->calls == calls);

  // No token anywhere, or only non-blocking backends naming nobody: decided without blocking.
  const auto none = s.auth.try_authenticate_without_blocking(creds(""));
  REQUIRE(none.has_value());
  CHECK(none->status == AuthStatus::no_user);
  const auto unknown = s.auth.try_authenticate_without_blocking(creds("Bearer nonsense"));
  REQUIRE(unknown.has_value());
  CHECK(unknown->status == AuthStatus::no_user);

  // A blocking strategy with a token needs the pool.
  CHECK_FALSE(s.auth.try_authenticate_without_blocking(creds("Bearer nonsense", "fastapiusersauth=db-bob"))
                  .has_value());
  CHECK(s.db->reads == 0);
}

TEST_CASE("load_user goes through the cache; invalidate drops the entry") {
  Setup s;
  CHECK(s.auth.load_user(kAlice).value()->email == "alice@example.com");
  CHECK(s.store->calls == 1);
  CHECK(s.auth.load_user(kAlice).ok());
  CHECK(s.store->calls == 1);
  CHECK_FALSE(s.auth.load_user(kGhost).value() != nullptr);  // misses are not cached
  CHECK_FALSE(s.auth.load_user(kGhost).value() != nullptr);
  CHECK(s.store->calls == 3);

  s.store->add(make_user(kAlice, "alice@changed.example"));
  CHECK(s.auth.load_user(kAlice).value()->email == "alice@example.com");  // stale within the TTL
  s.auth.invalidate(kAlice);
  CHECK(s.auth.load_user(kAlice).value()->email == "alice@changed.example");

  s.store->down = true;
  s.auth.invalidate(kAlice);
  const auto down = s.auth.load_user(kAlice);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error() == StoreError::unavailable);
}

TEST_CASE("with the cache disabled every request is resolved on the blocking path") {
  Setup s(milliseconds(0));
  REQUIRE(s.auth.authenticate(creds("Bearer jwt-alice")).status == AuthStatus::authenticated);
  CHECK_FALSE(s.auth.try_authenticate_without_blocking(creds("Bearer jwt-alice")).has_value());
}

// Drives a resumable walk the way the proxy does, resolving each need synchronously.
static AuthOutcome drive(Authenticator& auth, const RequestCredentials& credentials,
                         int* io_steps = nullptr) {
  AuthWalk walk = auth.begin_walk(credentials);
  while (walk.need != AuthWalk::Need::decided) {
    if (io_steps != nullptr) ++*io_steps;
    if (walk.need == AuthWalk::Need::read_token) {
      auth.resume_with_token(walk, auth.backends()[walk.backend_index].strategy->read(walk.token));
    } else {
      auth.resume_with_user(walk, auth.load_user(walk.user_id));
    }
  }
  return walk.outcome;
}

TEST_CASE("the resumable walk decides as authenticate() does, stopping only for I/O") {
  Setup s;
  const std::pair<const char*, const char*> cases[] = {
      {"Bearer jwt-alice", "fastapiusersauth=db-bob"},
      {"", "fastapiusersauth=db-bob"},
      {"Bearer nonsense", "fastapiusersauth=db-bob"},
      {"Bearer jwt-ghost", "fastapiusersauth=db-bob"},
      {"Bearer jwt-ghost", "fastapiusersauth=nothing"},
      {"Bearer jwt-dave", ""},
      {"", ""},
  };
  for (const auto& [authorization, cookie] : cases) {
    CAPTURE(authorization);
    CAPTURE(cookie);
    const auto expected = s.auth.authenticate(creds(authorization, cookie));
    s.auth.cache().clear();
    const auto walked = drive(s.auth, creds(authorization, cookie));
    CHECK(walked.status == expected.status);
    CHECK(walked.backend_index == expected.backend_index);
    CHECK(walked.token == expected.token);
    CHECK((walked.user != nullptr) == (expected.user != nullptr));
    if (walked.user && expected.user) CHECK(walked.user->id == expected.user->id);
  }

  // A blocking strategy is never read by the walk itself: it stops and names the backend and token.
  s.auth.cache().clear();
  const int reads = s.db->reads;
  AuthWalk walk = s.auth.begin_walk(creds("Bearer nonsense", "fastapiusersauth=db-bob"));
  CHECK(walk.need == AuthWalk::Need::read_token);
  CHECK(walk.backend_index == 1);
  CHECK(walk.token == "db-bob");
  CHECK(s.db->reads == reads);
  // Its answer naming a user that is not cached: the walk asks for the load.
  s.auth.resume_with_token(walk, std::optional<TokenOwner>(TokenOwner{kBob, std::nullopt}));
  CHECK(walk.need == AuthWalk::Need::load_user);
  CHECK(walk.user_id == kBob);
  s.auth.resume_with_user(walk, std::make_shared<const User>(make_user(kBob, "bob@example.com")));
  REQUIRE(walk.need == AuthWalk::Need::decided);
  CHECK(walk.outcome.status == AuthStatus::authenticated);
  CHECK(walk.outcome.token == "db-bob");

  // A cached user costs no I/O step at all.
  int steps = 0;
  REQUIRE(s.auth.authenticate(creds("Bearer jwt-alice")).status == AuthStatus::authenticated);
  CHECK(drive(s.auth, creds("Bearer jwt-alice"), &steps).status == AuthStatus::authenticated);
  CHECK(steps == 0);
}

TEST_CASE("the resumable walk: a store that is down is unavailable unless a later backend decides") {
  Setup s;
  AuthWalk walk = s.auth.begin_walk(creds("", "fastapiusersauth=db-bob"));
  REQUIRE(walk.need == AuthWalk::Need::read_token);
  s.auth.resume_with_token(walk, StrategyError::unavailable);
  REQUIRE(walk.need == AuthWalk::Need::decided);
  CHECK(walk.outcome.status == AuthStatus::unavailable);

  // Backend 0's user load fails; backend 1 still yields Bob.
  walk = s.auth.begin_walk(creds("Bearer jwt-alice", "fastapiusersauth=db-bob"));
  REQUIRE(walk.need == AuthWalk::Need::load_user);
  s.auth.resume_with_user(walk, StoreError::unavailable);
  REQUIRE(walk.need == AuthWalk::Need::read_token);
  s.auth.resume_with_token(walk, std::optional<TokenOwner>(TokenOwner{kBob, std::nullopt}));
  REQUIRE(walk.need == AuthWalk::Need::load_user);
  s.auth.resume_with_user(walk, std::make_shared<const User>(make_user(kBob, "bob@example.com")));
  REQUIRE(walk.need == AuthWalk::Need::decided);
  CHECK(walk.outcome.status == AuthStatus::authenticated);
  CHECK(walk.outcome.backend_index == 1);
}

TEST_CASE("build_backends: one transport and strategy per configured backend") {
  doorman::config::Config config;
  doorman::config::BackendConfig jwt;
  jwt.name = "jwt";
  jwt.strategy.secret = "s3cret";
  jwt.strategy.lifetime_seconds = 3600;
  doorman::config::BackendConfig cookie;
  cookie.name = "cookie";
  cookie.transport = cookie_transport_config();
  cookie.transport.cookie_name = "sid";
  cookie.strategy.type = doorman::config::StrategyKind::database;
  config.auth.backends = {jwt, cookie};

  const auto backends = build_backends(config, std::make_shared<FakeUserStore>());
  REQUIRE(backends.size() == 2);
  CHECK(backends[0].name == "jwt");
  CHECK(dynamic_cast<BearerTransport*>(backends[0].transport.get()) != nullptr);
  CHECK(dynamic_cast<JwtStrategy*>(backends[0].strategy.get()) != nullptr);
  CHECK(backends[1].name == "cookie");
  CHECK(backends[1].transport->cookie_name() == std::optional<std::string>("sid"));
  CHECK(dynamic_cast<DatabaseStrategy*>(backends[1].strategy.get()) != nullptr);

  // A redis strategy connects lazily: building it needs no server, only a URL it understands.
  config.auth.backends[1].strategy.type = doorman::config::StrategyKind::redis;
  config.auth.backends[1].strategy.redis_url = "redis://127.0.0.1:1/2";
  const auto with_redis = build_backends(config, std::make_shared<FakeUserStore>());
  const auto* redis = dynamic_cast<RedisStrategy*>(with_redis[1].strategy.get());
  REQUIRE(redis != nullptr);
  CHECK(redis->endpoint().db == 2);
  config.auth.backends[1].strategy.redis_url = "rediss://127.0.0.1:6380/0";
  CHECK_THROWS_AS(build_backends(config, std::make_shared<FakeUserStore>()), std::runtime_error);
}

TEST_CASE("the fastapi-users 14 app's tokens authenticate against its database") {
  const auto& tokens = doorman::test::fixture_tokens();
  doorman::test::TempDir dir;
  auto store =
      std::make_shared<SociUserStore>(doorman::test::sqlite_config(doorman::test::copy_fixture_db(dir)));

  // The fixture app's two backends: bearer+JWT (10 years) and cookie+database.
  doorman::config::Config config;
  doorman::config::BackendConfig jwt;
  jwt.name = "jwt";
  jwt.strategy.secret = tokens["secret"];
  jwt.strategy.lifetime_seconds = 10 * 365 * 86400;
  doorman::config::BackendConfig cookie;
  cookie.name = "cookie";
  cookie.transport = cookie_transport_config();
  cookie.strategy.type = doorman::config::StrategyKind::database;
  cookie.strategy.lifetime_seconds = 10 * 365 * 86400;
  config.auth.backends = {jwt, cookie};
  Authenticator auth(build_backends(config, store), store, std::make_shared<UserCache>(milliseconds(1000)));

  const std::string bearer = "Bearer " + tokens["alice_access_jwt"].get<std::string>();
  const auto alice = auth.authenticate(creds(bearer));
  CHECK(alice.status == AuthStatus::authenticated);
  CHECK(alice.user->email == "alice@example.com");
  CHECK(alice.backend_index == 0);

  const std::string cookie_header = "fastapiusersauth=" + tokens["carol_database_token"].get<std::string>();
  const auto carol = auth.authenticate(creds("", cookie_header));
  CHECK(carol.status == AuthStatus::authenticated);
  CHECK(carol.user->email == "carol@example.com");
  CHECK(carol.user->is_superuser);
  CHECK(carol.backend_index == 1);

  // A JWT sent as the cookie is no database token: no user.
  CHECK(auth.authenticate(creds("", "fastapiusersauth=" + tokens["alice_access_jwt"].get<std::string>()))
            .status == AuthStatus::no_user);
}

TEST_CASE("a blocking strategy's answer is remembered: the next request reads no store, on every path") {
  Setup s(milliseconds(60000), milliseconds(60000));
  REQUIRE(s.auth.authenticate(creds("", "fastapiusersauth=db-bob")).status == AuthStatus::authenticated);
  CHECK(s.db->reads == 1);
  const int calls = s.store->calls;

  // The non-blocking walk, the resumable walk and the blocking walk all answer from the caches.
  const auto quick = s.auth.try_authenticate_without_blocking(creds("", "fastapiusersauth=db-bob"));
  REQUIRE(quick.has_value());
  CHECK(quick->status == AuthStatus::authenticated);
  CHECK(quick->user->id == kBob);
  CHECK(quick->backend_index == 1);
  int steps = 0;
  CHECK(drive(s.auth, creds("", "fastapiusersauth=db-bob"), &steps).user->id == kBob);
  CHECK(steps == 0);
  CHECK(s.auth.authenticate(creds("", "fastapiusersauth=db-bob")).user->id == kBob);
  CHECK(s.db->reads == 1);
  CHECK(s.store->calls == calls);

  // Only what names a user is remembered: an unknown token is read every time.
  CHECK(s.auth.authenticate(creds("", "fastapiusersauth=nothing")).status == AuthStatus::no_user);
  CHECK(s.auth.authenticate(creds("", "fastapiusersauth=nothing")).status == AuthStatus::no_user);
  CHECK(s.db->reads == 3);
  // A non-blocking strategy (JWT) keeps its own cache: nothing of it lands here.
  REQUIRE(s.auth.authenticate(creds("Bearer jwt-alice")).status == AuthStatus::authenticated);
  CHECK(s.auth.tokens().size() == 1);
}

TEST_CASE("the resumable walk remembers what it was told, until the token's own end") {
  Setup s(milliseconds(60000), milliseconds(60000));
  AuthWalk walk = s.auth.begin_walk(creds("", "fastapiusersauth=db-bob"));
  REQUIRE(walk.need == AuthWalk::Need::read_token);
  s.auth.resume_with_token(walk, std::optional<TokenOwner>(TokenOwner{kBob, system_clock::now() + hours(1)}));
  s.auth.resume_with_user(walk, s.auth.load_user(kBob));
  REQUIRE(walk.outcome.status == AuthStatus::authenticated);
  CHECK(s.auth.begin_walk(creds("", "fastapiusersauth=db-bob")).need == AuthWalk::Need::decided);

  // A token that has ended by the time it was read is not remembered.
  s.auth.tokens().clear();
  walk = s.auth.begin_walk(creds("", "fastapiusersauth=db-bob"));
  REQUIRE(walk.need == AuthWalk::Need::read_token);
  s.auth.resume_with_token(walk,
                           std::optional<TokenOwner>(TokenOwner{kBob, system_clock::now() - seconds(1)}));
  CHECK(s.auth.tokens().size() == 0);
}

TEST_CASE("a read overtaken by a logout is not remembered") {
  Setup s(milliseconds(60000), milliseconds(60000));
  AuthWalk walk = s.auth.begin_walk(creds("", "fastapiusersauth=db-bob"));
  REQUIRE(walk.need == AuthWalk::Need::read_token);
  // The row is read (still there), then the token is logged out before the answer is taken.
  const auto read = s.db->read(walk.token);
  s.auth.forget_token("db-bob");
  s.auth.resume_with_token(walk, read);
  CHECK(s.auth.tokens().size() == 0);
}

TEST_CASE("forget_token drops the token here and announces its digest, never the token") {
  Setup s(milliseconds(60000), milliseconds(60000));
  auto publisher = std::make_shared<RecordingPublisher>();
  s.auth.set_invalidation_publisher(publisher);
  REQUIRE(s.auth.authenticate(creds("", "fastapiusersauth=db-bob")).status == AuthStatus::authenticated);
  REQUIRE(s.auth.tokens().size() == 1);

  s.auth.forget_token("db-bob");
  CHECK(s.auth.tokens().size() == 0);
  REQUIRE(publisher->tokens.size() == 1);
  CHECK(publisher->tokens[0] == TokenCache::digest_of("db-bob"));
  CHECK(publisher->users.empty());
  // Without the row, the next request reads the store and finds no one.
  s.db->forget("db-bob");
  CHECK(s.auth.authenticate(creds("", "fastapiusersauth=db-bob")).status == AuthStatus::no_user);
}
