"""Every strategy on every database (DESIGN.md §12; issue #5): a SQLite file and
a real PostgreSQL, each under one doorman with three backends -- jwt (bearer),
cookie (database strategy) and session (bearer + redis, a real redis-server).

For each (database, strategy): register; log in on that backend; a proxied
request carries the user's X-User-Id; /users/me answers the user; logout is
204, after which a JWT still passes until exp (as fastapi-users) while
database and Redis tokens are refused (401, and the Redis key is gone); a
token of a user a superuser then DELETEs is refused on the next request.
The user cache is on, so deletion must reach it, not merely expire from it.

The token cache is on too (same 60 s TTL): a database or Redis token used
once is served from it, so a row or key removed behind doorman's back is
still accepted, while a logout through doorman is refused at once; and the
cache never outlives the token itself (the row's created_at + lifetime, the
key's TTL).
"""

import datetime
import itertools
import os
import sqlite3
import time

import harness as h
import services

PASSWORD = "password-1234"
ADMIN_PASSWORD = "admin-password-1234"
REDIS_PREFIX = "fastapi_users_token:"
COOKIE_LIFETIME_S = 86400

# One PostgreSQL and one Redis for the whole file: starting them is most of the cost.
_postgres = None
_redis = None
_serial = itertools.count()


def setUpModule():
    global _postgres, _redis
    _redis = services.start_redis()
    _postgres = services.start_postgres()


def tearDownModule():
    if _postgres is not None:
        _postgres.stop()
    if _redis is not None:
        _redis.stop()


def overrides(database_url, redis_url):
    return {
        "database": {"url": database_url},
        # A cached user: a deleted user's token must be refused because the cache
        # learns of the deletion, not because the entry happened to expire.
        "users": {"cache_ttl_ms": 60000},
        "auth": {"backends": [
            {"name": "jwt", "transport": {"type": "bearer"},
             "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
            {"name": "cookie",
             "transport": {"type": "cookie", "cookie_name": "fastapiusersauth", "cookie_secure": False},
             "strategy": {"type": "database", "lifetime_seconds": COOKIE_LIFETIME_S}},
            {"name": "session", "transport": {"type": "bearer"},
             "strategy": {"type": "redis", "url": redis_url, "lifetime_seconds": 1800}},
        ]},
    }


class MatrixBase(h.DoormanTestCase):
    """One doorman on one database; the subclasses name the database."""

    redis_db = 0

    @classmethod
    def database_url(cls, tmpdir):
        raise NotImplementedError

    def execute(self, statement, params):
        """Changes the database behind doorman's back."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        tmp = h.make_temp_dir("doorman-matrix-")
        with h.setup_guard(cls):
            cls.stack = h.Stack(overrides(cls.database_url(tmp), _redis.url(cls.redis_db)))
            cls.port = cls.stack.port
            cls.admin_email = "admin-%s@example.com" % cls.__name__.lower()
            c = cls.stack.cli("users", "create", "--email", cls.admin_email, "--password", ADMIN_PASSWORD,
                              "--superuser", "--verified")
            if c.returncode != 0:
                raise RuntimeError("users create failed: %s" % c.stderr)
            cls.admin_token = h.login_bearer(cls.port, cls.admin_email, ADMIN_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    # ---------------------------------------------------------------- helpers

    def new_user(self, tag):
        email = "%s-%s-%d@example.com" % (tag, type(self).__name__.lower(), next(_serial))
        user_id = self.register_user(self.port, email, PASSWORD)["id"]
        self.assertTrue(h.uuid_like(user_id), user_id)
        return email, user_id

    def log_in(self, backend, email):
        """Credentials as keyword arguments for h.get / h.request helpers."""
        if backend == "cookie":
            return {"cookie": "fastapiusersauth=" + h.login_cookie(self.port, email, PASSWORD)}
        return {"token": h.login_bearer(self.port, email, PASSWORD, backend=backend)}

    def headers(self, creds):
        return h._auth_headers(None, **creds)

    def assert_accepted(self, creds, user_id, email):
        r = h.get(self.port, "/api/matrix", **creds)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "X-User-Id"), [user_id], r)
        me = h.get(self.port, "/users/me", **creds)
        self.assertEqual(me.status, 200, me)
        self.assertEqual((me.json()["id"], me.json()["email"]), (user_id, email))

    def assert_refused(self, creds):
        r = h.get(self.port, "/api/matrix", **creds)
        # doorman's own answer: the request never reached the upstream
        self.assertEqual((r.status, r.json()), (401, {"detail": "Unauthorized"}), r)
        me = h.get(self.port, "/users/me", **creds)
        self.assertEqual(me.status, 401, me)

    def run_strategy(self, backend, stays_valid_after_logout):
        email, user_id = self.new_user(backend)
        creds = self.log_in(backend, email)
        self.assert_accepted(creds, user_id, email)
        if backend == "session":
            self.assertEqual(_redis.cli("GET", REDIS_PREFIX + creds["token"], db=self.redis_db), user_id)

        r = h.request(self.port, "POST", "/auth/%s/logout" % backend, headers=self.headers(creds))
        self.assertEqual(r.status, 204, r)
        if stays_valid_after_logout:
            self.assert_accepted(creds, user_id, email)  # a JWT lives until exp
        else:
            self.assert_refused(creds)
        if backend == "session":
            self.assertEqual(_redis.cli("EXISTS", REDIS_PREFIX + creds["token"], db=self.redis_db), "0")

        # A fresh login, used once (so the user is cached), then the user is deleted.
        creds = self.log_in(backend, email)
        self.assert_accepted(creds, user_id, email)
        r = h.request(self.port, "DELETE", "/users/" + user_id,
                      headers=[("Authorization", "Bearer " + self.admin_token)])
        self.assertEqual(r.status, 204, r)
        self.assert_refused(creds)
        r = h.login(self.port, email, PASSWORD, backend)
        self.assertEqual(r.status, 400, r)  # LOGIN_BAD_CREDENTIALS: the user is gone

    # ---------------------------------------------------------------- tests

    def test_jwt_bearer(self):
        self.run_strategy("jwt", stays_valid_after_logout=True)

    def test_database_cookie(self):
        self.run_strategy("cookie", stays_valid_after_logout=False)

    def test_redis_bearer(self):
        self.run_strategy("session", stays_valid_after_logout=False)

    def test_database_token_is_served_from_the_cache_until_logged_out(self):
        email, user_id = self.new_user("cookie-cache")
        creds = self.log_in("cookie", email)
        self.assert_accepted(creds, user_id, email)
        token = creds["cookie"].split("=", 1)[1]
        # Another app logs the token out in the shared database: the cache keeps it for its TTL.
        self.execute("DELETE FROM accesstoken WHERE token = %s", (token,))
        self.assert_accepted(creds, user_id, email)
        # A logout through doorman forgets it at once (even though the row is already gone).
        r = h.request(self.port, "POST", "/auth/cookie/logout", headers=self.headers(creds))
        self.assertEqual(r.status, 204, r)
        self.assert_refused(creds)

    def test_database_token_is_not_served_past_its_lifetime(self):
        email, user_id = self.new_user("cookie-end")
        creds = self.log_in("cookie", email)
        token = creds["cookie"].split("=", 1)[1]
        # Created so long ago that it has 2 s left: far less than the cache's 60 s.
        created = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=COOKIE_LIFETIME_S - 2)
        self.execute("UPDATE accesstoken SET created_at = %s WHERE token = %s", (self.timestamp(created), token))
        ends = time.monotonic() + 2.0
        self.assert_accepted(creds, user_id, email)
        time.sleep(max(0.0, ends - time.monotonic()) + 0.3)
        self.assert_refused(creds)

    def test_redis_token_is_served_from_the_cache_until_logged_out(self):
        email, user_id = self.new_user("session-cache")
        creds = self.log_in("session", email)
        self.assert_accepted(creds, user_id, email)
        self.assertEqual(_redis.cli("DEL", REDIS_PREFIX + creds["token"], db=self.redis_db), "1")
        r = h.get(self.port, "/api/matrix", **creds)
        self.assertEqual(r.status, 200, r)  # cached: the key removed behind doorman's back is not read
        r = h.request(self.port, "POST", "/auth/session/logout", headers=self.headers(creds))
        self.assertEqual(r.status, 204, r)
        self.assert_refused(creds)

    def test_redis_token_is_not_served_past_its_key_ttl(self):
        email, user_id = self.new_user("session-end")
        creds = self.log_in("session", email)
        self.assertEqual(_redis.cli("PEXPIRE", REDIS_PREFIX + creds["token"], "1500", db=self.redis_db), "1")
        ends = time.monotonic() + 1.5
        r = h.get(self.port, "/api/matrix", **creds)
        self.assertEqual(r.status, 200, r)
        time.sleep(max(0.0, ends - time.monotonic()) + 0.3)
        r = h.get(self.port, "/api/matrix", **creds)
        self.assertEqual((r.status, r.json()), (401, {"detail": "Unauthorized"}), r)


class SqliteMatrixTest(MatrixBase):
    redis_db = 0

    @classmethod
    def database_url(cls, tmpdir):
        cls.db_path = os.path.abspath(os.path.join(tmpdir, "matrix.db"))
        return "sqlite:///" + cls.db_path

    def execute(self, statement, params):
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            with con:
                con.execute(statement.replace("%s", "?"), params)
        finally:
            con.close()

    @staticmethod
    def timestamp(moment):
        # SQLAlchemy's form on SQLite: naive UTC text.
        return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


class PostgresMatrixTest(MatrixBase):
    redis_db = 1

    @classmethod
    def database_url(cls, tmpdir):
        return _postgres.url()

    def execute(self, statement, params):
        _postgres.sql(statement % tuple("'%s'" % p.replace("'", "''") for p in params))

    @staticmethod
    def timestamp(moment):
        return moment.astimezone(datetime.timezone.utc).isoformat()


del MatrixBase  # not a test case of its own

if __name__ == "__main__":
    h.main()
