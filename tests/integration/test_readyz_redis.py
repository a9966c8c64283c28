"""/readyz and Redis (DESIGN.md §10, §11; issue #5), against a real redis-server.

Covers: with a bearer+redis backend, /readyz answers 200 naming redis "ok";
Redis stopped -> 503 {"status":"unavailable", ..., "redis":"unreachable"}
while database and upstream stay "ok" and /healthz stays 200; Redis back on
the same port -> 200 again without restarting doorman. A doorman without
Redis keeps the database/upstream-only body (no "redis" member).
"""

import time

import harness as h
import services


def redis_backends(redis_url):
    return {"auth": {"backends": [
        {"name": "jwt", "transport": {"type": "bearer"},
         "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
        {"name": "session", "transport": {"type": "bearer"},
         "strategy": {"type": "redis", "url": redis_url, "lifetime_seconds": 1800}},
    ]}}


class ReadyzRedisTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = services.start_redis()
        try:
            cls.stack = h.Stack(redis_backends(cls.redis.url()))
        except Exception:
            cls.redis.stop()
            raise
        cls.admin = cls.stack.admin_port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.redis.stop()

    def poll_status(self, want, deadline_s=10.0):
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            try:
                last = h.get(self.admin, "/readyz")
            except (h.ConnectionClosed, OSError) as e:
                last = "no answer: %r" % e
                time.sleep(0.1)
                continue
            if last.status == want:
                return last
            time.sleep(0.1)
        self.fail("/readyz never answered %d within %.0fs; last %r" % (want, deadline_s, last))

    def test_redis_down_then_back(self):
        r = self.poll_status(200)
        self.assertEqual(r.json(), {"status": "ok", "database": "ok", "upstream": "ok", "redis": "ok"})

        self.redis.stop()
        try:
            r = self.poll_status(503)
            self.assertEqual(r.json(), {"status": "unavailable", "database": "ok", "upstream": "ok",
                                        "redis": "unreachable"})
            # bounded: a readiness probe must not hang on a missing Redis
            start = time.monotonic()
            self.assertEqual(h.get(self.admin, "/readyz").status, 503)
            self.assertLess(time.monotonic() - start, 3.0)
            self.assertEqual(h.get(self.admin, "/healthz").status, 200)  # liveness is not readiness
        finally:
            self.redis.start()

        # Same doorman process: the check reconnects by itself.
        r = self.poll_status(200)
        self.assertEqual(r.json()["redis"], "ok")
        self.assertTrue(self.stack.doorman.alive())


class ReadyzWithoutRedisTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_body_names_no_redis(self):
        end = time.monotonic() + 10.0
        r = h.get(self.stack.admin_port, "/readyz")
        while r.status != 200 and time.monotonic() < end:
            time.sleep(0.1)
            r = h.get(self.stack.admin_port, "/readyz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"status": "ok", "database": "ok", "upstream": "ok"})


if __name__ == "__main__":
    h.main()
