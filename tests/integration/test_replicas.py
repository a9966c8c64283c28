"""Several doorman replicas on one PostgreSQL (DESIGN.md §7, §10; issue #5).

Two doorman processes, A and B, share one PostgreSQL database, with the
default backends jwt (bearer + JWT) and cookie (cookie + database token).

With Redis (users.invalidation_redis_url) and a user cache of 60 s, so only
the pub/sub announcements can explain what is seen: a user registered on A
logs in on B and that token works on A; a cookie logged out on A is refused
on B; a user deactivated through B is refused on A, deleted through A is
refused on B, and made superuser through A shows in B's X-User-Superuser,
each within moments instead of the cache's 60 s; so is a change made with
`doorman users set`. A change made while Redis is down still succeeds, and
the other replica forgets its cached users when it subscribes again. A
cookie (database token) used on B and logged out on A is refused on B
within moments too: A announces the token's digest.

Without Redis and a cache of 1 s: the change, or a logout, shows on the other
replica once its cached copy is older than users.cache_ttl_ms (and, while it
is younger, the other replica may still serve the old answer: the documented
bound).
"""

import time

import harness as h
import services

PASSWORD = "password-1234"
ADMIN_EMAIL = "admin@example.com"
# Well below the 60 s cache: only an announcement makes a replica see a change this fast.
ANNOUNCED_WITHIN_S = 3.0


def replica_config(tmp, upstream_port, database_url, cache_ttl_ms, redis_url=None):
    port, admin_port = h.free_port(), h.free_port()
    users = {"password_min_length": 8, "cache_ttl_ms": cache_ttl_ms}
    if redis_url:
        users["invalidation_redis_url"] = redis_url
    return h.deep_merge(h.base_config(tmp, port, admin_port, upstream_port),
                        {"database": {"url": database_url}, "users": users, "server": {"workers": 1}})


class Replicas:
    """An echo upstream and two doorman replicas on one database (and optionally one Redis)."""

    def __init__(self, database_url, cache_ttl_ms, redis_url=None):
        self.tmp = h.make_temp_dir()
        self.upstream = h.EchoUpstream(self.tmp)
        self.a = self.b = None
        try:
            self.a = h.Doorman(self.tmp, replica_config(self.tmp, self.upstream.port, database_url, cache_ttl_ms,
                                                        redis_url), name="replica-a")
            self.b = h.Doorman(self.tmp, replica_config(self.tmp, self.upstream.port, database_url, cache_ttl_ms,
                                                        redis_url), name="replica-b")
        except Exception:
            self.stop()
            raise

    def logs(self):
        return "".join(p.logs() for p in (self.a, self.b, self.upstream) if p is not None)

    def stop(self):
        for p in (self.a, self.b, self.upstream):
            if p is not None:
                p.stop()


def proxied(port, token=None, cookie=None):
    return h.get(port, "/api/whoami", token=token, cookie=cookie)


def wait_for_status(port, want, deadline_s, **credentials):
    """Polls a proxied request until it answers `want`; returns (response, seconds taken)."""
    start = time.monotonic()
    while True:
        r = proxied(port, **credentials)
        took = time.monotonic() - start
        if r.status == want or took > deadline_s:
            return r, took
        time.sleep(0.05)


class ReplicaTestBase(h.DoormanTestCase):
    cache_ttl_ms = 60000
    with_redis = True

    @classmethod
    def setUpClass(cls):
        cls.postgres = services.start_postgres()
        cls.redis = services.start_redis() if cls.with_redis else None
        try:
            cls.stack = Replicas(cls.postgres.url(), cls.cache_ttl_ms, cls.redis.url() if cls.redis else None)
            out = h.run_cli(["users", "create", "--email", ADMIN_EMAIL, "--password", PASSWORD, "--superuser"],
                            config=cls.stack.a.config_path)
            if out.returncode != 0:
                raise RuntimeError("users create failed: %s" % out.stderr)
            cls.admin_token = h.login_bearer(cls.stack.b.port, ADMIN_EMAIL, PASSWORD)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "stack", None) is not None:
            cls.stack.stop()
        if cls.redis is not None:
            cls.redis.stop()
        cls.postgres.stop()

    def new_user(self, email):
        return self.register_user(self.stack.a.port, email, PASSWORD)["id"]

    def admin_patch(self, port, user_id, body):
        r = h.patch_json(port, "/users/%s" % user_id, body, token=self.admin_token)
        self.assertEqual(r.status, 200, r)
        return r


class ReplicasWithRedisTest(ReplicaTestBase):
    def test_registered_on_a_logs_in_on_b_and_the_token_works_on_a(self):
        user_id = self.new_user("shared@example.com")
        token = h.login_bearer(self.stack.b.port, "shared@example.com", PASSWORD)
        r = proxied(self.stack.a.port, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "X-User-Id"), [user_id])

    def test_cookie_logout_on_a_is_refused_on_b(self):
        self.new_user("cookie@example.com")
        cookie = "fastapiusersauth=" + h.login_cookie(self.stack.a.port, "cookie@example.com", PASSWORD)
        self.assertEqual(proxied(self.stack.b.port, cookie=cookie).status, 200)  # in B's token cache for 60 s
        r = h.request(self.stack.a.port, "POST", "/auth/cookie/logout", headers=[("Cookie", cookie)])
        self.assertEqual(r.status, 204, r)
        # A announced the token's digest: B forgets it within moments, not after 60 s.
        r, took = wait_for_status(self.stack.b.port, 401, ANNOUNCED_WITHIN_S, cookie=cookie)
        self.assertEqual(r.status, 401, "B still served the logged-out cookie after %.1fs: %r" % (took, r))
        self.assertEqual(proxied(self.stack.a.port, cookie=cookie).status, 401)

    def test_deactivation_through_b_is_refused_on_a(self):
        user_id = self.new_user("deactivated@example.com")
        token = h.login_bearer(self.stack.a.port, "deactivated@example.com", PASSWORD)
        self.assertEqual(proxied(self.stack.a.port, token=token).status, 200)  # now cached on A for 60 s
        self.admin_patch(self.stack.b.port, user_id, {"is_active": False})
        r, took = wait_for_status(self.stack.a.port, 401, ANNOUNCED_WITHIN_S, token=token)
        self.assertEqual(r.status, 401, "A still served the deactivated user after %.1fs: %r" % (took, r))

    def test_deletion_through_a_is_refused_on_b(self):
        user_id = self.new_user("deleted@example.com")
        token = h.login_bearer(self.stack.b.port, "deleted@example.com", PASSWORD)
        self.assertEqual(proxied(self.stack.b.port, token=token).status, 200)  # cached on B
        r = h.request(self.stack.a.port, "DELETE", "/users/%s" % user_id,
                      headers=[("Authorization", "Bearer " + self.admin_token)])
        self.assertEqual(r.status, 204, r)
        r, took = wait_for_status(self.stack.b.port, 401, ANNOUNCED_WITHIN_S, token=token)
        self.assertEqual(r.status, 401, "B still served the deleted user after %.1fs: %r" % (took, r))

    def test_superuser_flag_through_a_shows_on_b(self):
        user_id = self.new_user("promoted@example.com")
        token = h.login_bearer(self.stack.a.port, "promoted@example.com", PASSWORD)
        r = proxied(self.stack.b.port, token=token)
        self.assertEqual(h.echo_header_values(r, "X-User-Superuser"), ["false"])  # cached on B
        self.admin_patch(self.stack.a.port, user_id, {"is_superuser": True})
        deadline = time.monotonic() + ANNOUNCED_WITHIN_S
        while True:
            r = proxied(self.stack.b.port, token=token)
            if h.echo_header_values(r, "X-User-Superuser") == ["true"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(h.echo_header_values(r, "X-User-Superuser"), ["true"], r)
        # And B's own admin routes agree.
        self.assertEqual(h.get(self.stack.b.port, "/users/%s" % user_id, token=token).status, 200)

    def test_cli_change_is_announced_too(self):
        self.new_user("cli@example.com")
        token = h.login_bearer(self.stack.a.port, "cli@example.com", PASSWORD)
        self.assertEqual(proxied(self.stack.b.port, token=token).status, 200)  # cached on B
        out = h.run_cli(["users", "set", "--email", "cli@example.com", "--active", "false"],
                        config=self.stack.a.config_path)
        self.assertEqual(out.returncode, 0, out.stderr)
        r, took = wait_for_status(self.stack.b.port, 401, ANNOUNCED_WITHIN_S, token=token)
        self.assertEqual(r.status, 401, "B still served the deactivated user after %.1fs: %r" % (took, r))

    def test_changes_missed_while_redis_was_down_clear_the_cache(self):
        user_id = self.new_user("outage@example.com")
        token = h.login_bearer(self.stack.a.port, "outage@example.com", PASSWORD)
        self.assertEqual(proxied(self.stack.a.port, token=token).status, 200)  # cached on A
        self.redis.stop()
        try:
            # The announcement is lost, but the change itself never waits on or fails with Redis.
            self.admin_patch(self.stack.b.port, user_id, {"is_active": False})
        finally:
            self.redis.start()
        # A cannot know what it missed: subscribing again, it forgets every cached user.
        r, took = wait_for_status(self.stack.a.port, 401, 10.0, token=token)
        self.assertEqual(r.status, 401, "A still served the deactivated user after %.1fs: %r" % (took, r))
        for replica in (self.stack.a, self.stack.b):  # both listen again for the tests after this one
            end = time.monotonic() + 10.0
            while "subscribed again" not in replica.stderr_text() and time.monotonic() < end:
                time.sleep(0.05)
            self.assertIn("subscribed again", replica.stderr_text())


class ReplicasWithoutRedisTest(ReplicaTestBase):
    cache_ttl_ms = 1000
    with_redis = False

    def test_deactivation_shows_on_the_other_replica_after_the_ttl(self):
        user_id = self.new_user("ttl@example.com")
        token = h.login_bearer(self.stack.a.port, "ttl@example.com", PASSWORD)
        cached_at = time.monotonic()
        self.assertEqual(proxied(self.stack.a.port, token=token).status, 200)  # cached on A for 1 s
        self.admin_patch(self.stack.b.port, user_id, {"is_active": False})
        self.assert_refused_once_the_ttl_ran_out(self.stack.a.port, cached_at, token=token)

    def test_logout_shows_on_the_other_replica_after_the_ttl(self):
        self.new_user("cookie-ttl@example.com")
        cookie = "fastapiusersauth=" + h.login_cookie(self.stack.b.port, "cookie-ttl@example.com", PASSWORD)
        cached_at = time.monotonic()
        self.assertEqual(proxied(self.stack.a.port, cookie=cookie).status, 200)  # in A's token cache for 1 s
        r = h.request(self.stack.b.port, "POST", "/auth/cookie/logout", headers=[("Cookie", cookie)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(proxied(self.stack.b.port, cookie=cookie).status, 401)  # at once where it was made
        self.assert_refused_once_the_ttl_ran_out(self.stack.a.port, cached_at, cookie=cookie)

    def assert_refused_once_the_ttl_ran_out(self, port, cached_at, **credentials):
        """The replica at `port` cached the credentials at `cached_at` (1 s TTL) and was told nothing."""
        r = proxied(port, **credentials)
        if time.monotonic() - cached_at < 0.8:
            # Nothing tells it: it serves its cached answer until the TTL runs out.
            self.assertEqual(r.status, 200, r)
        r, took = wait_for_status(port, 401, 3.0, **credentials)
        self.assertEqual(r.status, 401, "still served after %.1fs: %r" % (took, r))
        self.assertLess(time.monotonic() - cached_at, 3.0)


if __name__ == "__main__":
    h.main()
