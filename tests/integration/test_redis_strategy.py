"""The Redis strategy (DESIGN §4, §6, §11; api-contract §3, §8, §12) against a
real redis-server.

Covers: login through a bearer+redis backend writes `fastapi_users_token:<token>`
holding the user id with TTL = lifetime; a proxied request with that token gets
X-User-Id; logout deletes the key and the token is refused; a key written with
redis-cli the way a fastapi-users app writes it is accepted; stored values that
are not a user id, and tokens of the wrong shape, are refused (401, doorman
lives on); Redis stopped -> 503 for Redis tokens while JWTs and database
cookies of the same user still pass; Redis back -> works again without
restarting doorman; SIGTERM ends doorman promptly whether Redis is idle or
down; three backends (jwt bearer, cookie+database, bearer+redis)
in that order and reversed: every backend's login and logout work and the first
backend yielding a user wins.
"""

import secrets
import signal
import time

import harness as h
import services

PREFIX = "fastapi_users_token:"
PASSWORD = "password-1234"


def backends(redis_url, reverse=False):
    jwt = {"name": "jwt", "transport": {"type": "bearer"},
           "strategy": {"type": "jwt", "lifetime_seconds": 3600}}
    cookie = {"name": "cookie",
              "transport": {"type": "cookie", "cookie_name": "fastapiusersauth", "cookie_secure": False},
              "strategy": {"type": "database", "lifetime_seconds": 86400}}
    session = {"name": "session", "transport": {"type": "bearer"},
               "strategy": {"type": "redis", "url": redis_url, "lifetime_seconds": 1800}}
    order = [jwt, cookie, session]
    return {"auth": {"backends": list(reversed(order)) if reverse else order}}


def user_id_seen(resp):
    values = h.echo_header_values(resp, "X-User-Id")
    return values[0] if values else None


class RedisStrategyBase(h.DoormanTestCase):
    reverse = False

    @classmethod
    def setUpClass(cls):
        cls.redis = services.start_redis()
        try:
            cls.stack = h.Stack(backends(cls.redis.url(), cls.reverse))
        except Exception:
            cls.redis.stop()
            raise
        with h.setup_guard(cls):
            cls.port = cls.stack.port
            cls.users = {}
            for name in ("alice", "bob"):
                email = "%s-%d@example.com" % (name, int(cls.reverse))
                r = h.register(cls.port, email, PASSWORD)
                assert r.status == 201, r
                cls.users[name] = (email, r.json()["id"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.redis.stop()

    def setUp(self):
        self.redis.start()  # a test that stopped Redis must not break the next one

    def login_session(self, name):
        return h.login_bearer(self.port, self.users[name][0], PASSWORD, backend="session")

    def wait_until(self, predicate, seconds=6.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


class RedisStrategyTest(RedisStrategyBase):
    """Backends in the order jwt, cookie (database), session (redis)."""

    def test_login_writes_the_key_with_the_lifetime_and_proxying_resolves_it(self):
        token = self.login_session("alice")
        self.assertEqual(len(token), 43)
        _, alice_id = self.users["alice"]
        self.assertEqual(self.redis.cli("GET", PREFIX + token), alice_id)
        ttl = int(self.redis.cli("TTL", PREFIX + token))
        self.assertTrue(1790 <= ttl <= 1800, ttl)
        r = h.get(self.port, "/api/data", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(user_id_seen(r), alice_id)
        me = h.get(self.port, "/users/me", token=token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["id"], alice_id)

    def test_logout_deletes_the_key_and_the_token_is_refused(self):
        token = self.login_session("bob")
        self.assertEqual(h.get(self.port, "/api/x", token=token).status, 200)
        r = h.request(self.port, "POST", "/auth/session/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.redis.cli("EXISTS", PREFIX + token), "0")
        self.assertEqual(h.get(self.port, "/api/x", token=token).status, 401)
        r = h.request(self.port, "POST", "/auth/session/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertEqual(r.status, 401, r)

    def test_a_key_written_by_a_fastapi_users_app_is_accepted(self):
        _, alice_id = self.users["alice"]
        token = secrets.token_urlsafe()  # what fastapi-users' RedisStrategy generates
        self.assertEqual(self.redis.cli("SET", PREFIX + token, alice_id, "EX", "60"), "OK")
        r = h.get(self.port, "/api/from-python", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(user_id_seen(r), alice_id)
        # and doorman's logout removes it for the app too
        r = h.request(self.port, "POST", "/auth/session/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.redis.cli("EXISTS", PREFIX + token), "0")

    def test_values_that_are_not_a_user_id_name_no_user(self):
        _, alice_id = self.users["alice"]
        for value in ["not-a-uuid", "42", alice_id + "x", alice_id[:-1], "{\"id\": \"%s\"}" % alice_id,
                      "00000000-0000-4000-8000-000000000000"]:
            token = secrets.token_urlsafe()
            self.redis.cli("SET", PREFIX + token, value)
            r = h.get(self.port, "/api/bad-value", token=token)
            self.assertEqual(r.status, 401, (value, r))
        token = secrets.token_urlsafe()
        self.redis.cli("HSET", PREFIX + token, "id", alice_id)  # a key of another type
        self.assertEqual(h.get(self.port, "/api/hash", token=token).status, 401)
        # an empty value
        token = secrets.token_urlsafe()
        self.redis.cli("SET", PREFIX + token, "")
        self.assertEqual(h.get(self.port, "/api/empty", token=token).status, 401)
        # the same user id in another accepted spelling still names alice, nobody else
        token = secrets.token_urlsafe()
        self.redis.cli("SET", PREFIX + token, alice_id.upper().replace("-", ""))
        r = h.get(self.port, "/api/upper", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(user_id_seen(r), alice_id)
        self.assertEqual(h.get(self.port, "/public/alive").status, 200)

    def test_tokens_of_the_wrong_shape_are_refused(self):
        token = self.login_session("alice")
        self.redis.cli("SET", PREFIX + token[:42], self.users["alice"][1])
        self.redis.cli("SET", PREFIX + "short", self.users["alice"][1])
        for bad in [token[:42], token + "A", token[:42] + "=", token[:42] + "%", "short", "x" * 4000]:
            r = h.get(self.port, "/api/shape", token=bad)
            self.assertEqual(r.status, 401, (bad, r))
        self.assertEqual(h.get(self.port, "/api/shape", token=token).status, 200)

    def test_redis_down_503_for_redis_tokens_jwt_and_cookie_still_pass_then_recovery(self):
        email, alice_id = self.users["alice"]
        session = self.login_session("alice")
        jwt = h.login_bearer(self.port, email, PASSWORD, backend="jwt")
        cookie = "fastapiusersauth=" + h.login_cookie(self.port, email, PASSWORD)
        self.redis.stop()
        try:
            r = h.get(self.port, "/api/down", token=session)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(h.get(self.port, "/users/me", token=session).status, 503)
            self.assertEqual(h.login(self.port, email, PASSWORD, backend="session").status, 503)
            # a public path still forwards, anonymously
            self.assertEqual(h.get(self.port, "/public/down", token=session).status, 200)
            for _ in range(3):
                r = h.get(self.port, "/api/down", token=jwt)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(user_id_seen(r), alice_id)
                r = h.get(self.port, "/api/down", cookie=cookie)
                self.assertEqual(r.status, 200, r)
        finally:
            self.redis.start()
        # Back, empty (no persistence): the old token is unknown, new ones work, no doorman restart.
        # Each worker has its own Redis connection, which may still be in its reconnect
        # backoff (up to 2 s): wait until fresh connections (spread over the workers by
        # SO_REUSEPORT) all see Redis again.
        self.assertTrue(self.wait_until(
            lambda: all(h.get(self.port, "/api/back", token=session).status == 401 for _ in range(16))))
        fresh = self.login_session("alice")
        r = h.get(self.port, "/api/back", token=fresh)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(user_id_seen(r), alice_id)
        written = secrets.token_urlsafe()
        self.redis.cli("SET", PREFIX + written, alice_id)
        self.assertEqual(h.get(self.port, "/api/back", token=written).status, 200)

    def test_each_backend_logs_in_and_out(self):
        email, alice_id = self.users["alice"]
        jwt = h.login_bearer(self.port, email, PASSWORD, backend="jwt")
        cookie = "fastapiusersauth=" + h.login_cookie(self.port, email, PASSWORD)
        session = self.login_session("alice")
        for kw in ({"token": jwt}, {"cookie": cookie}, {"token": session}):
            r = h.get(self.port, "/api/each", **kw)
            self.assertEqual(r.status, 200, (kw, r))
            self.assertEqual(user_id_seen(r), alice_id)
        r = h.request(self.port, "POST", "/auth/jwt/logout", headers=[("Authorization", "Bearer " + jwt)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(h.get(self.port, "/api/each", token=jwt).status, 200)  # JWTs live until exp
        r = h.request(self.port, "POST", "/auth/cookie/logout", headers=[("Cookie", cookie)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(h.get(self.port, "/api/each", cookie=cookie).status, 401)
        r = h.request(self.port, "POST", "/auth/session/logout", headers=[("Authorization", "Bearer " + session)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(h.get(self.port, "/api/each", token=session).status, 401)

    def test_first_backend_yielding_a_user_wins(self):
        alice_email, alice_id = self.users["alice"]
        bob_email, bob_id = self.users["bob"]
        alice_cookie = "fastapiusersauth=" + h.login_cookie(self.port, alice_email, PASSWORD)
        bob_session = self.login_session("bob")
        bob_jwt = h.login_bearer(self.port, bob_email, PASSWORD, backend="jwt")
        # A Redis token of bob in Authorization and a database cookie of alice.
        r = h.get(self.port, "/api/both", token=bob_session, cookie=alice_cookie)
        self.assertEqual(r.status, 200, r)
        # jwt, cookie, session: the JWT backend finds nothing in a Redis token, the cookie is next.
        # session, cookie, jwt: the Redis backend comes first and names bob.
        self.assertEqual(user_id_seen(r), bob_id if self.reverse else alice_id)
        # A JWT of bob and the cookie of alice: the JWT wins when first; reversed, the
        # Redis backend skips a JWT (no lookup) and the cookie decides.
        r = h.get(self.port, "/api/both", token=bob_jwt, cookie=alice_cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(user_id_seen(r), alice_id if self.reverse else bob_id)
        # With Redis down, the cookie still decides in either order when the bearer is a JWT.
        self.redis.stop()
        try:
            r = h.get(self.port, "/api/both", token=bob_jwt, cookie=alice_cookie)
            self.assertEqual(r.status, 200, r)
            # A Redis token that cannot be checked: another backend may still decide (the cookie).
            r = h.get(self.port, "/api/both", token=bob_session, cookie=alice_cookie)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(user_id_seen(r), alice_id)
        finally:
            self.redis.start()


class RedisShutdownTest(RedisStrategyBase):
    """An idle Redis connection (or one backing off) never holds up a drain."""

    def test_sigterm_exits_promptly_after_redis_use_and_while_redis_is_down(self):
        token = self.login_session("alice")
        for _ in range(4):  # reach both workers' connections
            self.assertEqual(h.get(self.port, "/api/x", token=token).status, 200)
        self.redis.stop()
        for _ in range(4):
            self.assertEqual(h.get(self.port, "/api/x", token=token).status, 503)
        started = time.monotonic()
        self.stack.doorman.signal(signal.SIGTERM)
        self.assertEqual(self.stack.doorman.wait(timeout=8), 0)
        self.assertLess(time.monotonic() - started, 4.0)


class RedisStrategyReversedTest(RedisStrategyTest):
    """The same, with the backends in the order session (redis), cookie, jwt."""

    reverse = True


if __name__ == "__main__":
    h.main()
