"""The database failing under doorman, and doorman dying under load (DESIGN.md §11).

Covers: PostgreSQL stopped -> login and register answer 503, a request with a
database (cookie) token answers 503, while a request with the JWT of a cached
user still goes through (200), /readyz answers 503 and /healthz 200;
PostgreSQL back -> login, register, cookie tokens and /readyz work again
without restarting doorman. SIGKILL while registrations are in flight ->
after a restart, every registration that was answered 201 is there and can
log in (SQLite and PostgreSQL).
"""

import signal
import threading
import time

import harness as h
import services

PASSWORD = "password-1234"


def poll(fn, ok, deadline_s):
    """Calls fn() until ok(result) or the deadline; returns the last result."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            last = fn()
        except (OSError, h.ConnectionClosed) as e:
            last = e
        if (not isinstance(last, Exception) and ok(last)) or time.monotonic() > end:
            return last
        time.sleep(0.1)


class DatabaseDownTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.postgres = services.start_postgres()
        try:
            # A long user cache: the JWT request below must not need the database.
            cls.stack = h.Stack({"database": {"url": cls.postgres.url()}, "users": {"cache_ttl_ms": 60000}})
        except Exception:
            cls.postgres.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.postgres.stop()

    def test_database_down_then_back(self):
        port, admin = self.stack.port, self.stack.admin_port
        self.assertEqual(h.register(port, "before@example.com", PASSWORD).status, 201)
        token = h.login_bearer(port, "before@example.com", PASSWORD)
        cookie = "fastapiusersauth=" + h.login_cookie(port, "before@example.com", PASSWORD)
        self.assertEqual(h.get(port, "/api/x", token=token).status, 200)  # the user is now cached
        self.assertEqual(h.get(admin, "/readyz").status, 200)

        self.postgres.stop()
        try:
            r = h.login(port, "before@example.com", PASSWORD)
            self.assertEqual(r.status, 503, r)
            r = h.register(port, "during@example.com", PASSWORD)
            self.assertEqual(r.status, 503, r)
            r = h.get(port, "/api/x", cookie=cookie)  # a database token needs the database
            self.assertEqual(r.status, 503, r)
            r = h.get(port, "/api/x", token=token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(h.echo_header_values(r, "X-User-Id")), 1)
            r = poll(lambda: h.get(admin, "/readyz"), lambda r: r.status == 503, 10.0)
            self.assertEqual(r.status, 503, r)
            self.assertIn(b'"database":"unreachable"', r.body)
            self.assertEqual(h.get(admin, "/healthz").status, 200)
        finally:
            self.postgres.start()

        # Same doorman process: its connections recover by themselves.
        r = poll(lambda: h.login(port, "before@example.com", PASSWORD), lambda r: r.status == 200, 15.0)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.register(port, "after@example.com", PASSWORD).status, 201)
        self.assertEqual(h.get(port, "/api/x", cookie=cookie).status, 200)
        r = poll(lambda: h.get(admin, "/readyz"), lambda r: r.status == 200, 10.0)
        self.assertEqual(r.status, 200, r)


class SigkillKeepsAcknowledgedTest(h.DoormanTestCase):
    """Registrations race a SIGKILL; every 201 must survive it."""

    THREADS = 4
    KILL_AFTER = 8  # acknowledged registrations before the kill

    def run_and_kill(self, overrides):
        self.stack = h.Stack(overrides)
        port = self.stack.port
        acknowledged = []
        lock = threading.Lock()
        enough = threading.Event()

        def register_loop(worker):
            n = 0
            while True:
                email = "w%d-%d@example.com" % (worker, n)
                n += 1
                try:
                    r = h.register(port, email, PASSWORD)
                except (OSError, h.ConnectionClosed, ValueError):
                    return  # doorman is gone
                if r.status == 201:
                    with lock:
                        acknowledged.append(email)
                        if len(acknowledged) >= self.KILL_AFTER:
                            enough.set()

        threads = [threading.Thread(target=register_loop, args=(i,), daemon=True) for i in range(self.THREADS)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(30.0), "registrations never reached %d" % self.KILL_AFTER)
        self.stack.doorman.signal(signal.SIGKILL)  # while other registrations are in flight
        self.stack.doorman.wait(10)
        for t in threads:
            t.join(20)
        with lock:
            acked = list(acknowledged)

        restarted = h.Doorman(self.stack.tmp, self.stack.config, name="doorman-restarted")
        self.addCleanup(restarted.stop)
        out = self.stack.cli("users", "list")
        self.assertEqual(out.returncode, 0, out.stderr)
        missing = [e for e in acked if ('"email":"%s"' % e) not in out.stdout]
        self.assertEqual(missing, [], "answered 201 but lost after SIGKILL")
        # The last acknowledged user, as the client would try it.
        self.assertEqual(h.login(restarted.port, acked[-1], PASSWORD).status, 200)

    def tearDown(self):
        super().tearDown()
        if getattr(self, "stack", None) is not None:
            self.stack.stop()

    def test_sqlite(self):
        self.run_and_kill(None)

    def test_postgresql(self):
        postgres = services.start_postgres()
        self.addCleanup(postgres.stop)
        self.run_and_kill({"database": {"url": postgres.url()}})


if __name__ == "__main__":
    h.main()
