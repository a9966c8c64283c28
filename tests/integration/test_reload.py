"""SIGHUP reload of the request policies, end to end (DESIGN.md §3, §10).

Covers: new access rules and identity header names apply to the next request
within 2 s of SIGHUP (spoofed copies of the new name stripped, the old name no
longer sent); an invalid config is refused with one stderr line per error and
the old rules keep applying; a setting that needs a restart (server.listen) is
reported and kept, the server serving on the old port; exit 0 on SIGTERM after.
"""

import signal
import time

import harness as h

PASSWORD = "password-1234"
RELOADED = "doorman: reloaded access rules and identity headers"


def rules(*extra):
    return {"access": {"default": "authenticated",
                       "rules": [{"prefix": "/public/", "access": "anonymous"}] + list(extra)}}


class ReloadTest(h.DoormanTestCase):
    def setUp(self):
        self.stack = h.Stack(rules())
        self.port = self.stack.port

    def tearDown(self):
        super().tearDown()
        self.stack.stop()

    def reload_with(self, overrides):
        """Rewrites the config file as base + overrides and sends SIGHUP."""
        h.write_config(self.stack.config_path, h.deep_merge(self.stack.config, overrides))
        self.stack.doorman.signal(signal.SIGHUP)

    def wait_for_stderr(self, text, count=1, timeout=2.0):
        deadline = time.monotonic() + timeout
        while True:
            err = self.stack.doorman.stderr_text()
            if err.count(text) >= count:
                return err
            if time.monotonic() > deadline:
                self.fail("no %r in stderr within %.1f s:\n%s" % (text, timeout, err))
            time.sleep(0.05)

    def wait_for_status(self, path, status, timeout=2.0, **kw):
        deadline = time.monotonic() + timeout
        while True:
            resp = h.get(self.port, path, **kw)
            if resp.status == status or time.monotonic() > deadline:
                self.assertEqual(resp.status, status, resp)
                return resp
            time.sleep(0.05)

    def assert_stops_cleanly(self):
        self.stack.doorman.signal(signal.SIGTERM)
        self.assertEqual(self.stack.doorman.wait(15), 0)

    def test_new_rules_and_identity_headers_apply_after_sighup(self):
        p = self.port
        self.assertEqual(h.register(p, "reload@example.com", PASSWORD).status, 201)
        token = h.login_bearer(p, "reload@example.com", PASSWORD)
        self.assertEqual(h.get(p, "/public/x").status, 200)
        self.assertEqual(h.get(p, "/secret/x").status, 401)
        # A keep-alive connection opened before the reload sees the new rules too.
        conn = h.Conn(p)
        self.assertEqual(h.get(p, "/secret/x", conn=conn).status, 401)
        before = h.get(p, "/secret/x", token=token)
        self.assertEqual(len(h.echo_header_values(before, "X-User-Id")), 1, before)

        overrides = rules({"prefix": "/secret/", "access": "anonymous"})
        overrides["identity_headers"] = {"id": "X-Auth-User"}
        self.reload_with(overrides)
        self.wait_for_status("/secret/x", 200)
        err = self.wait_for_stderr(RELOADED)
        self.assertNotIn("needs a restart", err)
        self.assertEqual(h.get(p, "/secret/x", conn=conn).status, 200)
        conn.close()

        resp = h.get(p, "/secret/x", token=token, headers=[("X-Auth-User", "spoofed"), ("X_Auth_User", "spoofed")])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(h.echo_header_values(resp, "X-Auth-User"), h.echo_header_values(before, "X-User-Id"))
        self.assertEqual(h.echo_header_values(resp, "X_Auth_User"), [])
        self.assertEqual(h.echo_header_values(resp, "X-User-Id"), [])
        self.assertEqual(h.echo_header_values(resp, "X-User-Email"), ["reload@example.com"])
        self.assertEqual(h.get(p, "/public/x").status, 200)
        self.assertEqual(h.get(p, "/other").status, 401)
        self.assert_stops_cleanly()

    def test_invalid_config_is_refused_and_old_rules_stay(self):
        p = self.port
        overrides = rules({"prefix": "/secret/", "access": "sometimes"})
        overrides["identity_headers"] = {"id": "X-Auth-User"}
        self.reload_with(overrides)
        err = self.wait_for_stderr("doorman: reload refused: ")
        self.assertIn("sometimes", err.split("doorman: reload refused: ", 1)[1].splitlines()[0])
        self.assertNotIn(RELOADED, err)
        self.assertEqual(h.get(p, "/secret/x").status, 401)
        self.assertEqual(h.get(p, "/public/x").status, 200)
        # A later valid reload still works.
        self.reload_with(rules({"prefix": "/secret/", "access": "anonymous"}))
        self.wait_for_status("/secret/x", 200)
        self.wait_for_stderr(RELOADED)
        self.assert_stops_cleanly()

    def test_setting_needing_restart_is_reported_and_kept(self):
        p = self.port
        new_port = h.free_port()
        overrides = rules({"prefix": "/secret/", "access": "anonymous"})
        overrides["server"] = {"listen": "127.0.0.1:%d" % new_port}
        overrides["secret"] = "another-secret-that-must-never-be-printed"
        self.reload_with(overrides)
        err = self.wait_for_stderr(RELOADED)
        self.assertIn("doorman: reload: server.listen changed; needs a restart, kept", err)
        self.assertIn("doorman: reload: secret changed; needs a restart, kept", err)
        self.assertNotIn("another-secret-that-must-never-be-printed", err)
        self.assertNotIn(h.TEST_SECRET, err)
        # The reloadable part applied; the listener did not move.
        self.assertEqual(h.get(p, "/secret/x").status, 200)
        self.assertFalse(h.port_is_listening(new_port))
        self.assert_stops_cleanly()


if __name__ == "__main__":
    h.main()
