"""Hook events (DESIGN.md §8, api-contract.md §14) end to end: a real doorman
posting to a Python receiver on 127.0.0.1.

Covers: after_register / after_login / after_update bodies byte for byte and
their X-Doorman-Signature (HMAC-SHA256 of the exact body bytes), the
X-Doorman-Event header, a password change reported as "password" with no
password value anywhere in the body, one user's events in order, a 500
answered with a retry of the same signed bytes, and a receiver that hangs
neither delays the request that fired the event nor loses the event (the
timeout triggers a retry).
"""

import hashlib
import hmac
import json
import os
import time

import harness as h

HOOK_SECRET = "events-test-secret"
HOOK_PATH = "/_doorman/events"
PASSWORD = "correct-horse-1"


Receiver = h.HookReceiver


_counter = [0]


def unique_email(tag):
    _counter[0] += 1
    return "%s%d-%d@example.com" % (tag, _counter[0], os.getpid())


def signature(body):
    return "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


class EventsTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        with h.setup_guard(cls):
            cls.stack = h.Stack({"hooks": {"url": cls.receiver.url(), "secret": HOOK_SECRET, "timeout_ms": 500}})
        cls.port = cls.stack.port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.receiver.close()

    def check_signed(self, event):
        self.assertEqual(event["path"], HOOK_PATH)
        self.assertEqual(event["headers"].get("content-type"), "application/json")
        self.assertEqual(event["headers"].get("x-doorman-signature"), signature(event["body"]))
        self.assertEqual(event["headers"].get("x-doorman-event"), json.loads(event["body"])["event"])

    def register(self, tag):
        email = unique_email(tag)
        r = h.register(self.port, email, PASSWORD)
        self.assertEqual(r.status, 201, r)
        return email, r

    def test_after_register(self):
        email, r = self.register("reg")
        [event] = self.receiver.wait_for(email, "after_register")
        self.check_signed(event)
        # The user object is the 201 body, byte for byte.
        self.assertEqual(event["body"], b'{"event":"after_register","user":' + r.body + b"}")

    def test_after_login(self):
        email, r = self.register("login")
        token = h.login_bearer(self.port, email, PASSWORD)
        self.assertTrue(token)
        [event] = self.receiver.wait_for(email, "after_login")
        self.check_signed(event)
        self.assertEqual(event["body"], b'{"event":"after_login","user":' + r.body + b"}")

    def test_after_update_password_names_the_field_only(self):
        email, _ = self.register("upd")
        token = h.login_bearer(self.port, email, PASSWORD)
        new_password = "brand-new-secret-42"
        r = h.patch_json(self.port, "/users/me", {"password": new_password}, token=token)
        self.assertEqual(r.status, 200, r)
        [event] = self.receiver.wait_for(email, "after_update")
        self.check_signed(event)
        doc = json.loads(event["body"])
        self.assertEqual(list(doc), ["event", "user", "fields"])
        self.assertEqual(doc["fields"], ["password"])
        self.assertEqual(event["body"], b'{"event":"after_update","user":' + r.body + b',"fields":["password"]}')
        self.assertNotIn(new_password.encode(), event["body"])
        self.assertNotIn(PASSWORD.encode(), event["body"])
        self.assertNotIn(b"hashed_password", event["body"])
        self.assertNotIn(b"argon2", event["body"])
        # One user's events arrive in the order they happened.
        names = [json.loads(e["body"])["event"] for e in self.receiver.for_user(email, answered=200)]
        self.assertEqual(names, ["after_register", "after_login", "after_update"])

    def test_500_is_retried_with_the_same_bytes(self):
        self.receiver.push("500")
        email, _ = self.register("retry")
        [delivered] = self.receiver.wait_for(email, "after_register")
        attempts = self.receiver.for_user(email)
        self.assertEqual([e["status"] for e in attempts], [500, 200])
        self.assertEqual(attempts[0]["body"], delivered["body"])
        self.assertEqual(attempts[0]["headers"]["x-doorman-signature"], delivered["headers"]["x-doorman-signature"])
        self.check_signed(delivered)

    def test_hanging_receiver_does_not_delay_the_request(self):
        self.receiver.push("hang", "hang")
        start = time.monotonic()
        email, _ = self.register("hang")
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.0)
        # timeout_ms: 500 -> the attempt is abandoned and retried; the third attempt is answered.
        [delivered] = self.receiver.wait_for(email, "after_register", timeout=10.0)
        self.check_signed(delivered)
        self.assertEqual(len(self.receiver.for_user(email)), 3)
        # The server still answers promptly while deliveries hang.
        self.receiver.push("hang")
        start = time.monotonic()
        token = h.login_bearer(self.port, email, PASSWORD)
        self.assertTrue(token)
        self.assertLess(time.monotonic() - start, 1.0)
        self.receiver.wait_for(email, "after_login", timeout=10.0)


if __name__ == "__main__":
    h.main()
