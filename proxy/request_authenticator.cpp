// authenticate_request (see request_authenticator.hpp). The per-worker Redis
// clients live in a thread_local table (each worker is one thread with one
// io_context), built lazily on the worker's first Redis-backed request: one
// client per Redis backend, in backend order.
#include "proxy/request_authenticator.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authcore/redis_strategy.hpp"
#include "proxy/blocking_pool.hpp"
#include "proxy/redis_async_client.hpp"
#include "proxy/worker.hpp"

namespace doorman::proxy {
namespace {

struct WorkerRedisClients {
  const authcore::Authenticator* authenticator = nullptr;
  std::vector<std::unique_ptr<RedisAsyncClient>> by_backend;  // null for backends of other strategies
};

// Destroyed when the worker's thread ends, after its io_context stopped running
// and before the io_context itself is destroyed (Worker joins, then dies). One
// table per Authenticator, never dropped early: a client may have commands in
// flight, so a new Authenticator (a future reload) gets a new table beside it.
thread_local std::vector<std::unique_ptr<WorkerRedisClients>> t_clients;

RedisAsyncClient& redis_client(Worker& worker, const authcore::Authenticator& authenticator,
                               std::size_t index, const authcore::RedisStrategy& strategy) {
  WorkerRedisClients* table = nullptr;
  for (const auto& candidate : t_clients) {
    if (candidate->authenticator == &authenticator) table = candidate.get();
  }
  if (table == nullptr) {
    t_clients.push_back(std::make_unique<WorkerRedisClients>());
    table = t_clients.back().get();
    table->authenticator = &authenticator;
    table->by_backend.resize(authenticator.backends().size());
  }
  auto& client = table->by_backend[index];
  if (!client)
    client = std::make_unique<RedisAsyncClient>(worker.context().get_executor(), strategy.endpoint());
  return *client;
}

// What one trip to the blocking pool brings back: for a blocking strategy, whom
// the token names and, when it names someone, that user (saving a second trip);
// for a user load, the user. Default-constructible, as run_blocking needs.
struct BlockingRead {
  authcore::TokenRead owner = std::optional<authcore::TokenOwner>();
  std::optional<authcore::Result<authcore::UserPtr, authcore::StoreError>> user;
};

// What a GET + PTTL of a token's key says of its owner.
authcore::TokenRead owner_of(const RedisGetWithTtlResult& stored) {
  if (!stored) return stored.error();
  if (!stored.value()) return std::optional<authcore::TokenOwner>();
  return authcore::RedisStrategy::owner_from(stored.value()->value, stored.value()->pttl_ms,
                                             std::chrono::system_clock::now());
}

}  // namespace

asio::awaitable<authcore::AuthOutcome> authenticate_request(Worker& worker,
                                                            const authcore::RequestCredentials& credentials) {
  using Need = authcore::AuthWalk::Need;
  auto& authenticator = *worker.runtime().authenticator;
  authcore::AuthWalk walk = authenticator.begin_walk(credentials);
  while (walk.need != Need::decided) {
    if (walk.need == Need::load_user) {
      const std::string id = walk.user_id;
      BlockingRead loaded = co_await run_blocking(worker.pools().lookups, [&authenticator, &id] {
        BlockingRead out;
        out.user = authenticator.load_user(id);
        return out;
      });
      authenticator.resume_with_user(walk, std::move(*loaded.user));
      continue;
    }
    const auto& backend = authenticator.backends()[walk.backend_index];
    if (const auto* redis = dynamic_cast<const authcore::RedisStrategy*>(backend.strategy.get())) {
      const auto key = redis->key_for(walk.token);
      if (!key) {  // not a token shape Redis could hold: no user, no round trip
        authenticator.resume_with_token(walk, std::optional<authcore::TokenOwner>());
        continue;
      }
      auto& client = redis_client(worker, authenticator, walk.backend_index, *redis);
      // The key's TTL too: the token cache must not outlive the token.
      authenticator.resume_with_token(walk, owner_of(co_await client.get_with_ttl(*key)));
      continue;
    }
    // Any other strategy that blocks (database): read and, on a hit, load the user in one trip.
    auto* strategy = backend.strategy.get();
    const std::string_view token = walk.token;
    BlockingRead read = co_await run_blocking(worker.pools().lookups, [&authenticator, strategy, token] {
      BlockingRead out;
      out.owner = strategy->read(token);
      if (out.owner && out.owner.value()) out.user = authenticator.load_user(out.owner.value()->user_id);
      return out;
    });
    authenticator.resume_with_token(walk, read.owner);
    if (walk.need == Need::load_user && read.user)
      authenticator.resume_with_user(walk, std::move(*read.user));
  }
  co_return std::move(walk.outcome);
}

}  // namespace doorman::proxy
