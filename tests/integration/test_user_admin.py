"""Superuser user administration (api-contract.md §1, §7, §8, §14): GET, PATCH
and DELETE /users/{id} through the real doorman binary, a real SQLite file,
bearer+JWT and cookie+database backends and a webhook receiver. The user
cache is on with a long TTL (cache_ttl_ms 60000), so every "next request"
check proves that doorman invalidates what it changed instead of waiting for
the cache to expire.

Covers:
- GET /users/{id}: exact user object bytes; the id in every spelling Python's
  uuid.UUID accepts; 401 (no, bad, inactive user's token), 403 (not a
  superuser, checked before the id), 404 (malformed id, unknown id) — never
  500; DELETE /users/me is the {id} route (403 / 404).
- PATCH /users/{id} ("unsafe"): is_active, is_superuser, is_verified, email
  (normalised, resets is_verified unless given), password (argon2-cffi
  verifies the new hash; logins swap); explicit nulls ignored; 400
  UPDATE_USER_EMAIL_ALREADY_EXISTS (any case, own email in another case) and
  UPDATE_USER_INVALID_PASSWORD (wins over the email); 422; the §1 order
  (malformed JSON 422 first, 401/403, then 404 before field errors); the DB row
  unchanged by every refusal; after_update event for the target user only,
  with the changed field names.
- Effects on the very next proxied request: a deactivated user 401, a
  reactivated one 200, a promoted user reaches superuser paths, a demoted
  one 403, a deactivated superuser loses the admin routes.
- DELETE /users/{id}: 204 with no body, no Content-Type, no Content-Length;
  the row and the user's accesstoken rows gone (others' kept); the user's
  cookie and JWT refused on the next request; before_delete / after_delete
  events; a second DELETE 404.
"""

import hashlib
import hmac
import os
import sqlite3
import uuid

from argon2 import PasswordHasher

import harness as h

HOOK_SECRET = "user-admin-hook-secret"
HOOK_PATH = "/_doorman/events"
PASSWORD = "admin-test-pass-1"
ADMIN_PASSWORD = "the-admin-password-1"

UNAUTHORIZED = b'{"detail":"Unauthorized"}'
FORBIDDEN = b'{"detail":"Forbidden"}'
NOT_FOUND = b'{"detail":"Not Found"}'
EMAIL_EXISTS = b'{"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"}'
SHORT_PW = (b'{"detail":{"code":"UPDATE_USER_INVALID_PASSWORD",'
            b'"reason":"Password should be at least 8 characters"}}')
PRIME = 6  # fresh connections per check: enough to reach every worker


Receiver = h.HookReceiver


unique_email = h.unique_email


class UserAdminTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        with h.setup_guard(cls):
            cls.stack = h.Stack({
                "users": {"cache_ttl_ms": 60000},
                "hooks": {"url": cls.receiver.url(), "secret": HOOK_SECRET, "timeout_ms": 2000},
            })
            cls.port = cls.stack.port
            cls.db_path = cls.stack.db_path
            cls.admin_email = unique_email("admin")
            c = cls.stack.cli("users", "create", "--email", cls.admin_email, "--password", ADMIN_PASSWORD,
                              "--superuser", "--verified")
            if c.returncode != 0:
                raise RuntimeError("users create failed: %s" % c.stderr)
            cls.admin = h.login_bearer(cls.port, cls.admin_email, ADMIN_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.receiver.close()

    # ---------------------------------------------------------------- helpers

    def new_user(self, tag, password=PASSWORD):
        return self.register_user(self.port, unique_email(tag), password)

    def row(self, user_id):
        return h.user_row(self.db_path, user_id)

    def token_rows(self, user_id):
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            return [r[0] for r in con.execute("SELECT token FROM accesstoken WHERE user_id = ?", (user_id,))]
        finally:
            con.close()

    def user_bytes(self, user_id):
        email, _, active, superuser, verified = self.row(user_id)
        return h.compact({"id": user_id, "email": email, "is_active": bool(active),
                          "is_superuser": bool(superuser), "is_verified": bool(verified)})

    def get_user(self, user_id, token=None, cookie=None):
        return h.get(self.port, "/users/" + user_id, token=token, cookie=cookie)

    def patch_user(self, user_id, body, token=None):
        return h.patch_json(self.port, "/users/" + user_id, body, token=token)

    def delete_user(self, user_id, token=None, cookie=None):
        return h.request(self.port, "DELETE", "/users/" + user_id,
                         headers=h._auth_headers(None, token, cookie))

    def proxied(self, path, token=None, cookie=None, times=PRIME):
        """`times` requests on fresh connections (spread over the workers); their statuses."""
        return [h.get(self.port, path, token=token, cookie=cookie).status for _ in range(times)]

    # ---------------------------------------------------------------- GET

    def test_get_user_by_id_in_every_uuid_spelling(self):
        user = self.new_user("get")
        expected = self.user_bytes(user["id"])
        self.assertEqual(expected, h.compact(user))
        uid = user["id"]
        hex32 = uid.replace("-", "")
        # uuid.UUID removes every hyphen before counting 32 hex digits.
        for spelling in (uid, uid.upper(), hex32, "{%s}" % uid, "urn:uuid:" + uid, hex32.upper(),
                         uid + "-", "-".join(hex32)):
            with self.subTest(id=spelling):
                self.assertJson(self.get_user(spelling, token=self.admin), 200, expected)

    def test_401_403_404_order(self):
        user = self.new_user("order")
        plain = h.login_bearer(self.port, user["email"], PASSWORD)
        ids = {"existing": user["id"], "unknown": str(uuid.uuid4()), "malformed": "not-a-uuid"}
        for name, uid in ids.items():
            with self.subTest(id=name):
                for method in ("GET", "PATCH", "DELETE"):
                    body = b"{}" if method == "PATCH" else None
                    hdrs = [("Content-Type", "application/json")] if body else []
                    r = h.request(self.port, method, "/users/" + uid, headers=hdrs, body=body)
                    self.assertJson(r, 401, UNAUTHORIZED)
                    r = h.request(self.port, method, "/users/" + uid, body=body,
                                  headers=hdrs + [("Authorization", "Bearer not.a.jwt")])
                    self.assertJson(r, 401, UNAUTHORIZED)
                    r = h.request(self.port, method, "/users/" + uid, body=body,
                                  headers=hdrs + [("Authorization", "Bearer " + plain)])
                    self.assertJson(r, 403, FORBIDDEN)
        self.assertIsNotNone(self.row(user["id"]))

    def test_404_for_malformed_and_unknown_ids(self):
        user = self.new_user("nf")
        hex32 = user["id"].replace("-", "")
        bad_ids = ["not-a-uuid", "123", hex32[:-1], hex32 + "0", hex32[:-1] + "g",
                   "urn:uuid:", "%7B" + user["id"] + "%7D" + "x", str(uuid.uuid4()), "0" * 32,
                   "x" * 300]
        for bad in bad_ids:
            with self.subTest(id=bad):
                self.assertJson(self.get_user(bad, token=self.admin), 404, NOT_FOUND)
                self.assertJson(self.patch_user(bad, {"is_active": False}, token=self.admin), 404, NOT_FOUND)
                # §1: the {id} lookup (404) comes before the body's fields (422)
                self.assertJson(self.patch_user(bad, {"is_active": "maybe", "email": 3}, token=self.admin),
                                404, NOT_FOUND)
                self.assertJson(self.delete_user(bad, token=self.admin), 404, NOT_FOUND)
        self.assertEqual(self.row(user["id"])[2], 1)

    def test_delete_users_me_is_the_id_route(self):
        user = self.new_user("delme")
        plain = h.login_bearer(self.port, user["email"], PASSWORD)
        self.assertJson(h.request(self.port, "DELETE", "/users/me"), 401, UNAUTHORIZED)
        self.assertJson(self.delete_user("me", token=plain), 403, FORBIDDEN)
        self.assertJson(self.delete_user("me", token=self.admin), 404, NOT_FOUND)
        self.assertIsNotNone(self.row(user["id"]))
        self.assertIsNotNone(self.admin_row())

    def admin_row(self):
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            return con.execute('SELECT id FROM "user" WHERE email = ?', (self.admin_email,)).fetchone()
        finally:
            con.close()

    def test_trailing_slash_redirect_framed_on_keep_alive(self):
        # §1: a path differing from a route by a trailing "/" gets a 307. Starlette's
        # RedirectResponse has an empty body with Content-Length: 0; without a length
        # (and without closing) a keep-alive client cannot tell where the answer ends.
        user = self.new_user("slash")
        auth = [("Authorization", "Bearer " + self.admin)]
        with h.Conn(self.port, timeout=5) as c:
            c.send(h.build_request("DELETE", "/users/%s/" % user["id"], auth, None,
                                   host="127.0.0.1:%d" % self.port))
            head = c._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            self.assertEqual(head[0].split(" ")[1], "307", head)
            self.assertIn(headers.get("location"), ("/users/" + user["id"],
                                                    "http://127.0.0.1:%d/users/%s" % (self.port, user["id"])), head)
            self.assertTrue(headers.get("content-length") == "0" or headers.get("connection") == "close"
                            or "transfer-encoding" in headers, "307 without framing on keep-alive: %r" % head)
            if headers.get("connection") != "close":
                r = c.request("GET", "/users/" + user["id"], headers=auth)
                self.assertJson(r, 200, h.compact(user))
        self.assertIsNotNone(self.row(user["id"]), "a redirect deletes nothing")

    # ---------------------------------------------------------------- PATCH

    def test_patch_body_parsed_first_then_auth(self):
        user = self.new_user("patchorder")
        before = self.row(user["id"])
        malformed = b'{"is_active": '
        hdrs = [("Content-Type", "application/json")]
        r = h.request(self.port, "PATCH", "/users/" + user["id"], headers=hdrs, body=malformed)
        self.assertEqual(self.assert422_items(r)[0][0], "json_invalid")
        r = h.request(self.port, "PATCH", "/users/not-a-uuid", headers=hdrs, body=malformed)
        self.assertEqual(self.assert422_items(r)[0][0], "json_invalid")
        # well-formed JSON of the wrong shape, no token: 401
        self.assertJson(self.patch_user(user["id"], {"is_active": "maybe"}), 401, UNAUTHORIZED)
        self.assertJson(self.patch_user(user["id"], [1, 2]), 401, UNAUTHORIZED)
        # superuser, existing id: the field errors
        r = self.patch_user(user["id"], {"is_active": "maybe", "email": "nope"}, token=self.admin)
        self.assertEqual(self.assert422_items(r), [("value_error", ["body", "email"]),
                                             ("bool_parsing", ["body", "is_active"])])
        self.assertEqual(self.row(user["id"]), before)

    def test_patch_flags_and_events(self):
        user = self.new_user("flags")
        uid = user["id"]
        steps = [({"is_verified": True}, ["is_verified"], (1, 0, 1)),
                 ({"is_superuser": True}, ["is_superuser"], (1, 1, 1)),
                 ({"is_active": False, "is_superuser": False, "is_verified": False},
                  ["is_active", "is_superuser", "is_verified"], (0, 0, 0)),
                 ({"is_active": True, "unknown_key": 1, "id": str(uuid.uuid4())}, ["is_active"], (1, 0, 0)),
                 ({}, [], (1, 0, 0)),
                 ({"is_active": None, "is_superuser": None, "is_verified": None, "email": None, "password": None},
                  [], (1, 0, 0))]
        for n, (body, fields, flags) in enumerate(steps, start=1):
            with self.subTest(body=body):
                r = self.patch_user(uid, body, token=self.admin)
                self.assertEqual(self.row(uid)[2:], flags)
                expected = self.user_bytes(uid)
                self.assertJson(r, 200, expected)
                event = self.receiver.wait(uid, "after_update", count=n)[n - 1]
                self.assertEqual(event["body"], b'{"event":"after_update","user":' + expected
                                 + b',"fields":' + h.compact(fields) + b"}")
                self.assertEqual(event["headers"].get("x-doorman-signature"),
                                 "sha256=" + hmac.new(HOOK_SECRET.encode(), event["body"], hashlib.sha256).hexdigest())
        self.assertEqual(self.row(uid)[0], user["email"])
        # No event names the admin who made the changes.
        admin_id = self.admin_row()[0]
        self.assertEqual(self.receiver.about(admin_id, "after_update"), [])

    def test_patch_email_normalised_resets_verified_unless_given(self):
        user = self.new_user("mail")
        uid = user["id"]
        self.assertEqual(self.patch_user(uid, {"is_verified": True}, token=self.admin).status, 200)
        new = "New.Mail.%d@Example.COM" % os.getpid()
        r = self.patch_user(uid, {"email": new}, token=self.admin)
        stored = "New.Mail.%d@example.com" % os.getpid()
        self.assertJson(r, 200, h.compact(dict(user, email=stored, is_verified=False)))
        self.assertEqual(self.row(uid)[0], stored)
        # the same email again: no change, no reset of is_verified
        self.assertEqual(self.patch_user(uid, {"is_verified": True}, token=self.admin).status, 200)
        r = self.patch_user(uid, {"email": stored}, token=self.admin)
        self.assertJson(r, 200, h.compact(dict(user, email=stored, is_verified=True)))
        # the stored email spelled with another domain case normalises to itself: no change
        r = self.patch_user(uid, {"email": stored.replace("example.com", "EXAMPLE.com")}, token=self.admin)
        self.assertJson(r, 200, h.compact(dict(user, email=stored, is_verified=True)))
        # a new email and an explicit is_verified: the flag wins
        newer = unique_email("mail-newer")
        r = self.patch_user(uid, {"email": newer, "is_verified": True}, token=self.admin)
        self.assertJson(r, 200, h.compact(dict(user, email=newer, is_verified=True)))
        self.assertEqual(self.row(uid)[4], 1)

    def test_patch_email_and_password_errors_change_nothing(self):
        user = self.new_user("mailerr")
        other = self.new_user("mailother")
        uid = user["id"]
        before = self.row(uid)
        cases = [({"email": other["email"]}, EMAIL_EXISTS),
                 ({"email": other["email"].upper()}, EMAIL_EXISTS),
                 ({"email": user["email"].upper()}, EMAIL_EXISTS),  # own email, another case
                 ({"email": self.admin_email, "is_active": False}, EMAIL_EXISTS),
                 ({"password": "short"}, SHORT_PW),
                 ({"password": "short", "email": other["email"]}, SHORT_PW),  # password checked first
                 ({"password": "1234567", "is_superuser": True}, SHORT_PW)]
        for body, expected in cases:
            with self.subTest(body=body):
                self.assertJson(self.patch_user(uid, body, token=self.admin), 400, expected)
                self.assertEqual(self.row(uid), before)
        self.assertEqual(self.receiver.about(uid, "after_update"), [])
        r = self.patch_user(uid, {"is_superuser": "yes please"}, token=self.admin)
        self.assertEqual(self.assert422_items(r), [("bool_parsing", ["body", "is_superuser"])])
        r = self.patch_user(uid, {"password": 12345678}, token=self.admin)
        self.assertEqual(self.assert422_items(r), [("string_type", ["body", "password"])])
        self.assertEqual(self.row(uid), before)

    def test_patch_password(self):
        user = self.new_user("pw")
        uid = user["id"]
        old_hash = self.row(uid)[1]
        r = self.patch_user(uid, {"password": "a-brand-new-password"}, token=self.admin)
        self.assertJson(r, 200, h.compact(user))
        new_hash = self.row(uid)[1]
        self.assertNotEqual(new_hash, old_hash)
        self.assertTrue(new_hash.startswith("$argon2id$"), new_hash)
        self.assertTrue(PasswordHasher().verify(new_hash, "a-brand-new-password"))
        event = self.receiver.wait(uid, "after_update")[0]
        self.assertEqual(event["doc"]["fields"], ["password"])
        self.assertNotIn(b"a-brand-new-password", event["body"])
        self.assertEqual(h.login(self.port, user["email"], PASSWORD).status, 400)
        self.assertEqual(h.login(self.port, user["email"], "a-brand-new-password").status, 200)

    # ---------------------------------------------------------------- the next request

    def test_deactivate_and_reactivate_take_effect_on_the_next_request(self):
        user = self.new_user("deact")
        uid = user["id"]
        token = h.login_bearer(self.port, user["email"], PASSWORD)
        cookie = "fastapiusersauth=" + h.login_cookie(self.port, user["email"], PASSWORD)
        self.assertEqual(self.proxied("/api/x", token=token), [200] * PRIME)
        self.assertEqual(self.proxied("/api/x", cookie=cookie), [200] * PRIME)
        self.assertEqual(self.patch_user(uid, {"is_active": False}, token=self.admin).status, 200)
        self.assertEqual(self.proxied("/api/x", token=token), [401] * PRIME)
        self.assertEqual(self.proxied("/api/x", cookie=cookie), [401] * PRIME)
        self.assertJson(h.get(self.port, "/users/me", token=token), 401, UNAUTHORIZED)
        self.assertJson(h.get(self.port, "/api/x", token=token), 401, UNAUTHORIZED)
        self.assertEqual(self.patch_user(uid, {"is_active": True}, token=self.admin).status, 200)
        self.assertEqual(self.proxied("/api/x", token=token), [200] * PRIME)
        self.assertEqual(self.proxied("/api/x", cookie=cookie), [200] * PRIME)

    def test_promote_and_demote_take_effect_on_the_next_request(self):
        user = self.new_user("promote")
        uid = user["id"]
        token = h.login_bearer(self.port, user["email"], PASSWORD)
        self.assertEqual(self.proxied("/admin/panel", token=token), [403] * PRIME)
        self.assertJson(self.get_user(uid, token=token), 403, FORBIDDEN)
        self.assertEqual(self.patch_user(uid, {"is_superuser": True}, token=self.admin).status, 200)
        self.assertEqual(self.proxied("/admin/panel", token=token), [200] * PRIME)
        self.assertJson(self.get_user(uid, token=token), 200, self.user_bytes(uid))
        r = h.get(self.port, "/admin/panel", token=token)
        self.assertEqual(h.echo_header_values(r, "X-User-Superuser"), ["true"])
        self.assertEqual(self.patch_user(uid, {"is_superuser": False}, token=self.admin).status, 200)
        self.assertEqual(self.proxied("/admin/panel", token=token), [403] * PRIME)
        self.assertJson(self.get_user(uid, token=token), 403, FORBIDDEN)

    def test_deactivated_superuser_loses_the_admin_routes(self):
        email = unique_email("admin2")
        c = self.stack.cli("users", "create", "--email", email, "--password", ADMIN_PASSWORD, "--superuser")
        self.assertEqual(c.returncode, 0, c.stderr)
        admin2 = h.login_bearer(self.port, email, ADMIN_PASSWORD)
        target = self.new_user("target")
        self.assertEqual(self.get_user(target["id"], token=admin2).status, 200)
        admin2_id = h.get(self.port, "/users/me", token=admin2).json()["id"]
        self.assertEqual(self.patch_user(admin2_id, {"is_active": False}, token=self.admin).status, 200)
        # inactive is checked first: 401, not 403
        for _ in range(PRIME):
            self.assertJson(self.get_user(target["id"], token=admin2), 401, UNAUTHORIZED)
        self.assertJson(self.delete_user(target["id"], token=admin2), 401, UNAUTHORIZED)
        self.assertIsNotNone(self.row(target["id"]))

    # ---------------------------------------------------------------- DELETE

    def test_delete_removes_row_tokens_and_sessions(self):
        user = self.new_user("del")
        keeper = self.new_user("keep")
        uid = user["id"]
        cookie_value = h.login_cookie(self.port, user["email"], PASSWORD)
        second_cookie = h.login_cookie(self.port, user["email"], PASSWORD)
        token = h.login_bearer(self.port, user["email"], PASSWORD)
        keeper_cookie = h.login_cookie(self.port, keeper["email"], PASSWORD)
        cookie = "fastapiusersauth=" + cookie_value
        self.assertEqual(sorted(self.token_rows(uid)), sorted([cookie_value, second_cookie]))
        self.assertEqual(self.proxied("/api/x", token=token), [200] * PRIME)
        self.assertEqual(self.proxied("/api/x", cookie=cookie), [200] * PRIME)
        expected_user = self.user_bytes(uid)

        r = self.delete_user(uid, token=self.admin)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"", r)
        self.assertIsNone(r.header("Content-Type"), r)
        self.assertIsNone(r.header("Content-Length"), r)
        self.assertIsNone(self.row(uid))
        self.assertEqual(self.token_rows(uid), [])
        self.assertEqual(self.token_rows(keeper["id"]), [keeper_cookie])

        # The very next requests with the deleted user's credentials are refused.
        self.assertEqual(self.proxied("/api/x", token=token), [401] * PRIME)
        self.assertEqual(self.proxied("/api/x", cookie=cookie), [401] * PRIME)
        self.assertJson(h.get(self.port, "/users/me", cookie=cookie), 401, UNAUTHORIZED)
        self.assertJson(h.get(self.port, "/users/me", token=token), 401, UNAUTHORIZED)
        self.assertEqual(self.proxied("/api/x", cookie="fastapiusersauth=" + keeper_cookie, times=1), [200])

        [before] = self.receiver.wait(uid, "before_delete")
        [after] = self.receiver.wait(uid, "after_delete")
        self.assertEqual(before["body"], b'{"event":"before_delete","user":' + expected_user + b"}")
        self.assertEqual(after["body"], b'{"event":"after_delete","user":' + expected_user + b"}")
        self.assertEqual(self.receiver.about(keeper["id"], "before_delete"), [])

        self.assertJson(self.get_user(uid, token=self.admin), 404, NOT_FOUND)
        self.assertJson(self.patch_user(uid, {"is_active": True}, token=self.admin), 404, NOT_FOUND)
        self.assertJson(self.delete_user(uid, token=self.admin), 404, NOT_FOUND)
        self.assertEqual(len(self.receiver.about(uid, "before_delete")), 1)
        # The email is free again.
        self.assertEqual(h.register(self.port, user["email"], PASSWORD).status, 201)

    def test_delete_by_cookie_superuser(self):
        # The admin routes work with the cookie+database backend too.
        cookie = "fastapiusersauth=" + h.login_cookie(self.port, self.admin_email, ADMIN_PASSWORD)
        user = self.new_user("delcookie")
        self.assertJson(self.get_user(user["id"], cookie=cookie), 200, h.compact(user))
        r = self.delete_user(user["id"], cookie=cookie)
        self.assertEqual((r.status, r.body), (204, b""), r)
        self.assertIsNone(self.row(user["id"]))


if __name__ == "__main__":
    h.main()
