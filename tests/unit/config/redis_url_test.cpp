// parse_redis_url: the redis-py URL forms a fastapi-users deployment uses.
#include <doctest/doctest.h>

#include "authcore/redis_url.hpp"

using doorman::authcore::parse_redis_url;

TEST_CASE("redis:// URLs: host, port, db, password") {
  auto plain = parse_redis_url("redis://127.0.0.1:6379/0");
  REQUIRE(plain.ok());
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->port == 6379);
  CHECK(plain->db == 0);
  CHECK(plain->password.empty());
  CHECK(plain->describe() == "127.0.0.1:6379");

  auto full = parse_redis_url("redis://:p%40ss@cache.internal:6380/3");
  REQUIRE(full.ok());
  CHECK(full->host == "cache.internal");
  CHECK(full->port == 6380);
  CHECK(full->db == 3);
  CHECK(full->username.empty());
  CHECK(full->password == "p@ss");

  auto acl = parse_redis_url("redis://app:secret@h");
  REQUIRE(acl.ok());
  CHECK(acl->username == "app");
  CHECK(acl->password == "secret");
  CHECK(acl->port == 6379);

  auto v6 = parse_redis_url("redis://[::1]:7000?db=5");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7000);
  CHECK(v6->db == 5);
  CHECK(v6->describe() == "[::1]:7000");

  CHECK(parse_redis_url("redis://")->host == "localhost");
}

TEST_CASE("unix:// URLs") {
  auto sock = parse_redis_url("unix:///run/redis/redis.sock?db=2");
  REQUIRE(sock.ok());
  CHECK(sock->unix_path == "/run/redis/redis.sock");
  CHECK(sock->db == 2);
  CHECK(sock->host.empty());
  auto auth = parse_redis_url("unix://:pw@/tmp/r.sock");
  REQUIRE(auth.ok());
  CHECK(auth->password == "pw");
  CHECK(auth->unix_path == "/tmp/r.sock");
}

TEST_CASE("bad URLs are refused with a reason") {
  for (const char* bad : {"http://h:6379", "redis://h:0", "redis://h:70000", "redis://h:x", "redis://h/abc",
                          "redis://h/-1", "redis://[::1", "redis://:%zz@h", "unix://relative.sock", "unix://",
                          "redis://h?db=x", "rediss://h:6380/0"}) {
    CAPTURE(bad);
    const auto r = parse_redis_url(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(r.error().empty());
  }
  CHECK(parse_redis_url("rediss://h").error().find("TLS") != std::string::npos);
}
