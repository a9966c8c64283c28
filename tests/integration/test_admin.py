"""The admin listener (DESIGN.md §10): /healthz, /readyz, /metrics.

Covers: /healthz 200; /readyz 200 with database and upstream up, 503 while the
upstream is down and 200 again once it is back; /metrics in Prometheus text
format with doorman_requests_total counting proxied and auth API requests; the
admin endpoints are not served on the main listener.
"""

import re
import time

import harness as h


class AdminTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack()
        cls.port = cls.stack.port
        cls.admin = cls.stack.admin_port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def poll_status(self, path, want, deadline_s=10.0):
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            try:
                last = h.get(self.admin, path)
            except (h.ConnectionClosed, OSError) as e:
                last = "no answer: %r" % e
                time.sleep(0.1)
                continue
            if last.status == want:
                return last
            time.sleep(0.1)
        self.fail("%s never answered %d within %.0fs; last %r" % (path, want, deadline_s, last))

    def test_healthz_200(self):
        r = h.get(self.admin, "/healthz")
        self.assertEqual(r.status, 200, r)

    def test_readyz_200_when_ready(self):
        r = self.poll_status("/readyz", 200)
        self.assertEqual(r.status, 200)

    def test_readyz_503_when_upstream_down(self):
        self.poll_status("/readyz", 200)
        self.stack.upstream.stop()
        try:
            self.poll_status("/readyz", 503)
            # liveness is not readiness
            self.assertEqual(h.get(self.admin, "/healthz").status, 200)
        finally:
            self.stack.upstream = h.EchoUpstream(self.stack.tmp, self.stack.upstream_port, name="echo-restarted")
        self.poll_status("/readyz", 200)

    def test_metrics_prometheus_text(self):
        h.get(self.port, "/public/metrics-probe")
        h.get(self.port, "/api/needs-auth")
        h.get(self.port, "/users/me")
        r = h.get(self.admin, "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r.header("Content-Type"))
        text = r.body.decode("utf-8")
        self.assertIn("doorman_requests_total", text)
        self.assertRegex(text, r"(?m)^# TYPE doorman_requests_total counter$")
        samples = re.findall(r"(?m)^doorman_requests_total(\{[^}]*\})? ([0-9.e+]+)$", text)
        self.assertTrue(samples, text[:2000])
        self.assertGreaterEqual(sum(float(v) for _, v in samples), 3.0, text[:2000])
        # a 4xx was counted (labels may carry the exact status or its class)
        self.assertTrue(any(('status="401"' in labels or 'status="4xx"' in labels) and float(v) > 0
                            for labels, v in samples), text[:2000])

    def test_admin_paths_not_on_main_listener(self):
        # on the main listener these are ordinary paths under the access policy
        r = h.get(self.port, "/metrics")
        self.assertEqual(r.status, 401, r)
        r = h.get(self.port, "/readyz")
        self.assertEqual(r.status, 401, r)

    def test_admin_unknown_path_404(self):
        r = h.get(self.admin, "/no-such-admin-path")
        self.assertEqual(r.status, 404, r)


if __name__ == "__main__":
    h.main()
