"""Verify and reset-password routes (api-contract.md §5, §6, §12, §14) through
the real doorman binary, a real SQLite file and a webhook receiver.

Secrets: `secret`, `users.verification_token_secret` and
`users.reset_password_token_secret` are three different strings, so every
token test also proves which secret signs and checks which token.

Covers:
- POST /auth/request-verify-token and /auth/forgot-password: 202 `null` for
  every valid body; the token travels only in the `request_verify` /
  `forgot_password` event (never in the HTTP answer), only for the user the
  email names (any case), never for unknown, inactive or (verify) already
  verified users; 422 shapes.
- doorman's tokens decode with PyJWT: header, audience, claims in issue order,
  `exp` = now + 3600; the reset token's `password_fgpt` verifies against the
  stored hash with argon2-cffi.
- POST /auth/verify: doorman's and PyJWT-minted tokens (string or list
  audience, id in any UUID spelling, email in any case); VERIFY_USER_BAD_TOKEN
  for expired, tampered, wrong secret, wrong audience, wrong algorithm,
  missing claims, another user's id, an email that changed, a deleted user;
  VERIFY_USER_ALREADY_VERIFIED on reuse; an inactive user can be verified;
  the DB row is unchanged by every refusal; a verified-only path opens on the
  very next request (user cache_ttl_ms 60000).
- POST /auth/reset-password: doorman's and PyJWT-minted tokens (password_fgpt =
  argon2-cffi hash of the stored hash); RESET_PASSWORD_BAD_TOKEN for the same
  token faults plus a fingerprint of another hash, a plain digest, an inactive
  or deleted user, reuse; RESET_PASSWORD_INVALID_PASSWORD (token checked
  first, token still usable afterwards); the stored hash unchanged by every
  refusal; sessions and is_verified untouched by a reset.
- Interop with the fastapi-users 14 fixture (DOORMAN_FIXTURES): a PyJWT access
  token with the fixture secret; fastapi-users-style verify and reset tokens for
  its users (argon2-cffi p=4 and bcrypt stored hashes); doorman's reset token's
  fingerprint checked by argon2-cffi; doorman's new hash verified by argon2-cffi.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import time
import uuid

import jwt
from argon2 import PasswordHasher

import harness as h

HOOK_SECRET = "verify-reset-hook-secret"
HOOK_PATH = "/_doorman/events"
VERIFY_SECRET = "verification-token-secret-for-tests-7a1c9e"
RESET_SECRET = "reset-password-token-secret-for-tests-3f8b2d"
PASSWORD = "first-password-123"
NEW_PASSWORD = "second-password-456"
VERIFY_AUD = "fastapi-users:verify"
RESET_AUD = "fastapi-users:reset"

NULL = b"null"
VERIFY_BAD = b'{"detail":"VERIFY_USER_BAD_TOKEN"}'
ALREADY_VERIFIED = b'{"detail":"VERIFY_USER_ALREADY_VERIFIED"}'
RESET_BAD = b'{"detail":"RESET_PASSWORD_BAD_TOKEN"}'
RESET_SHORT = (b'{"detail":{"code":"RESET_PASSWORD_INVALID_PASSWORD",'
               b'"reason":"Password should be at least 8 characters"}}')


# --------------------------------------------------------------------------
# webhook receiver


Receiver = h.HookReceiver


def signature(body):
    return "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------
# tokens


unique_email = h.unique_email


def mint(claims, secret, algorithm="HS256"):
    """A JWT as fastapi-users' generate_jwt writes it (PyJWT, HS256 unless told)."""
    return jwt.encode(claims, secret, algorithm=algorithm)


def verify_claims(user_id, email, aud=VERIFY_AUD, lifetime=3600):
    claims = {"sub": user_id, "email": email, "aud": aud}
    if lifetime is not None:
        claims["exp"] = int(time.time()) + lifetime
    return claims


def reset_claims(user_id, fgpt, aud=RESET_AUD, lifetime=3600):
    claims = {"sub": user_id, "password_fgpt": fgpt, "aud": aud}
    if lifetime is not None:
        claims["exp"] = int(time.time()) + lifetime
    return claims


def fingerprint(stored_hash):
    """fastapi-users' password_fgpt: argon2-cffi's hash of the stored hash string."""
    return PasswordHasher().hash(stored_hash)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_of(token):
    """The JWT payload exactly as sent (to check claim order)."""
    return unb64url(token.split(".")[1])


def with_payload(token, claims):
    """The token with its payload replaced and its signature kept (a tampered token)."""
    head, _, sig = token.split(".")
    return "%s.%s.%s" % (head, b64url(json.dumps(claims, separators=(",", ":")).encode()), sig)


def flip_signature_char(token):
    """The token with one signature character in the middle changed."""
    head, payload, sig = token.split(".")
    i = len(sig) // 2
    c = "A" if sig[i] != "A" else "B"
    return "%s.%s.%s" % (head, payload, sig[:i] + c + sig[i + 1:])


def alg_none(claims):
    return "%s.%s." % (b64url(b'{"alg":"none","typ":"JWT"}'),
                       b64url(json.dumps(claims, separators=(",", ":")).encode()))


# --------------------------------------------------------------------------
# base with DB helpers


class Base(h.DoormanTestCase):
    db_path = None

    def row(self, user_id):
        return h.user_row(self.db_path, user_id)

    def sql(self, statement, args=()):
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            con.execute(statement, args)
            con.commit()
        finally:
            con.close()


# --------------------------------------------------------------------------
# the routes on a fresh database


class VerifyResetTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        with h.setup_guard(cls):
            cls.stack = h.Stack({
                "users": {"verification_token_secret": VERIFY_SECRET,
                          "reset_password_token_secret": RESET_SECRET,
                          "cache_ttl_ms": 60000},
                "hooks": {"url": cls.receiver.url(), "secret": HOOK_SECRET, "timeout_ms": 2000},
            })
        cls.port = cls.stack.port
        cls.db_path = cls.stack.db_path

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.receiver.close()

    # ---------------------------------------------------------------- helpers

    def new_user(self, tag, password=PASSWORD):
        return self.register_user(self.port, unique_email(tag), password)

    def user_bytes(self, user_id):
        email, _, active, superuser, verified = self.row(user_id)
        return h.compact({"id": user_id, "email": email, "is_active": bool(active),
                          "is_superuser": bool(superuser), "is_verified": bool(verified)})

    def request_verify(self, email):
        r = h.post_json(self.port, "/auth/request-verify-token", {"email": email})
        self.assertJson(r, 202, NULL)
        return r

    def forgot(self, email):
        r = h.post_json(self.port, "/auth/forgot-password", {"email": email})
        self.assertJson(r, 202, NULL)
        return r

    def verify(self, token):
        return h.post_json(self.port, "/auth/verify", {"token": token})

    def reset(self, token, password=NEW_PASSWORD):
        return h.post_json(self.port, "/auth/reset-password", {"token": token, "password": password})

    def token_event(self, user_id, name, count=1):
        event = self.receiver.wait(user_id, name, count)[count - 1]
        self.assertEqual(event["path"], HOOK_PATH)
        self.assertEqual(event["headers"].get("x-doorman-signature"), signature(event["body"]))
        doc = event["doc"]
        self.assertEqual(list(doc), ["event", "user", "token"], doc)
        return doc

    def assert_token_not_in(self, resp, token):
        self.assertNotIn(token.encode(), resp.body)
        for name, value in resp.headers:
            self.assertNotIn(token, value, name)

    def settle_events(self):
        """Fires one event for a fresh marker user and waits for it, then a little
        longer, so that an event wrongly fired before it would have arrived."""
        marker = self.new_user("marker")
        self.receiver.wait(marker["id"], "after_register")
        time.sleep(0.5)

    # ---------------------------------------------------------------- request-verify-token

    def test_request_verify_token_event_token_and_verify(self):
        user = self.new_user("rv")
        before = time.time()
        r = self.request_verify(user["email"])
        doc = self.token_event(user["id"], "request_verify")
        token = doc["token"]
        self.assertEqual(doc["user"], user)
        self.assert_token_not_in(r, token)
        # The token is fastapi-users' verify token: PyJWT decodes it with the verify secret.
        self.assertEqual(jwt.get_unverified_header(token), {"alg": "HS256", "typ": "JWT"})
        claims = jwt.decode(token, VERIFY_SECRET, algorithms=["HS256"], audience=VERIFY_AUD)
        self.assertEqual(list(json.loads(payload_of(token))), ["sub", "email", "aud", "exp"])
        self.assertEqual(claims["sub"], user["id"])
        self.assertEqual(claims["email"], user["email"])
        self.assertEqual(claims["aud"], VERIFY_AUD)  # a string, not a list
        self.assertIsInstance(claims["exp"], int)
        self.assertTrue(int(before) + 3600 - 2 <= claims["exp"] <= int(time.time()) + 3600 + 1, claims)
        # ... and not with the main secret nor the reset secret.
        for secret in (h.TEST_SECRET, RESET_SECRET):
            with self.assertRaises(jwt.InvalidSignatureError):
                jwt.decode(token, secret, algorithms=["HS256"], audience=VERIFY_AUD)
        with self.assertRaises(jwt.InvalidAudienceError):
            jwt.decode(token, VERIFY_SECRET, algorithms=["HS256"], audience=RESET_AUD)

        verified = dict(user, is_verified=True)
        r = self.verify(token)
        self.assertJson(r, 200, h.compact(verified))
        self.assertEqual(self.row(user["id"])[4], 1)
        [after] = self.receiver.wait(user["id"], "after_verify")
        self.assertEqual(after["body"], b'{"event":"after_verify","user":' + h.compact(verified) + b"}")
        # Reuse: the user is verified now.
        self.assertJson(self.verify(token), 400, ALREADY_VERIFIED)
        # Once verified, no new verify token is sent.
        self.request_verify(user["email"])
        self.settle_events()
        self.assertEqual(len(self.receiver.about(user["id"], "request_verify")), 1)

    def test_request_verify_token_only_for_the_named_user(self):
        alice = self.new_user("rva")
        bob = self.new_user("rvb")
        # bob's email in another case: bob gets the event, nobody else.
        r = self.request_verify(bob["email"].upper())
        doc = self.token_event(bob["id"], "request_verify")
        self.assertEqual(doc["user"], bob)
        self.assertEqual(jwt.decode(doc["token"], VERIFY_SECRET, algorithms=["HS256"], audience=VERIFY_AUD)["sub"],
                         bob["id"])
        self.assert_token_not_in(r, doc["token"])
        self.settle_events()
        self.assertEqual(self.receiver.about(alice["id"], "request_verify"), [])
        self.assertEqual(len(self.receiver.about(bob["id"], "request_verify")), 1)
        # bob's token verifies bob, not alice.
        r = self.verify(doc["token"])
        self.assertJson(r, 200, h.compact(dict(bob, is_verified=True)))
        self.assertEqual(self.row(alice["id"])[4], 0)

    def test_request_verify_token_no_event_unknown_inactive(self):
        inactive = self.new_user("rvinactive")
        self.sql('UPDATE "user" SET is_active = 0 WHERE id = ?', (inactive["id"],))
        unknown = unique_email("nobody")
        tokens_before = len(self.receiver.all_tokens())
        self.request_verify(unknown)
        self.request_verify(inactive["email"])
        self.settle_events()
        self.assertEqual(self.receiver.about(inactive["id"], "request_verify"), [])
        self.assertEqual(len(self.receiver.all_tokens()), tokens_before)

    def test_request_verify_token_422(self):
        for body, expected in (({}, [("missing", ["body", "email"])]),
                               ({"email": "not-an-email"}, [("value_error", ["body", "email"])]),
                               ({"email": 42}, None)):
            with self.subTest(body=body):
                got = self.assert422_items(h.post_json(self.port, "/auth/request-verify-token", body))
                if expected:
                    self.assertEqual(got, expected)
                else:
                    self.assertEqual([loc for _, loc in got], [["body", "email"]])
        r = h.request(self.port, "POST", "/auth/request-verify-token",
                      headers=[("Content-Type", "application/json")], body=b'{"email": ')
        self.assertEqual(self.assert422_items(r)[0][0], "json_invalid")

    # ---------------------------------------------------------------- verify

    def test_verify_pyjwt_minted_token_and_secret_separation(self):
        user = self.new_user("vmint")
        # Signed with the main secret or the reset secret: refused, nothing changes.
        for secret in (h.TEST_SECRET, RESET_SECRET):
            with self.subTest(secret=secret):
                self.assertJson(self.verify(mint(verify_claims(user["id"], user["email"]), secret)), 400, VERIFY_BAD)
                self.assertEqual(self.row(user["id"])[4], 0)
        r = self.verify(mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET))
        self.assertJson(r, 200, h.compact(dict(user, is_verified=True)))
        self.assertEqual(self.row(user["id"])[4], 1)

    def test_verify_accepts_what_fastapi_users_accepts(self):
        # PyJWT accepts an audience list holding the audience; uuid.UUID parses
        # any spelling of sub; the email lookup ignores case.
        variants = [
            lambda u: verify_claims(u["id"], u["email"], aud=[VERIFY_AUD]),
            lambda u: verify_claims(u["id"].upper(), u["email"]),
            lambda u: verify_claims(u["id"].replace("-", ""), u["email"]),
            lambda u: verify_claims(u["id"], u["email"].upper()),
            lambda u: verify_claims(u["id"], u["email"], lifetime=None),  # no exp at all
        ]
        for i, make in enumerate(variants):
            user = self.new_user("vaccept%d" % i)
            with self.subTest(variant=i):
                r = self.verify(mint(make(user), VERIFY_SECRET))
                self.assertJson(r, 200, h.compact(dict(user, is_verified=True)))

    def test_verify_bad_tokens_refused_and_nothing_changes(self):
        user = self.new_user("vbad")
        other = self.new_user("vother")
        good = mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET)
        now = int(time.time())
        cases = {
            "expired": mint(verify_claims(user["id"], user["email"], lifetime=-5), VERIFY_SECRET),
            "tampered payload": with_payload(good, {"sub": other["id"], "email": other["email"], "aud": VERIFY_AUD,
                                                    "exp": now + 3600}),
            "tampered signature": flip_signature_char(good),
            "truncated": good[:-10],
            "not a jwt": "not-a-token",
            "empty": "",
            "audience reset": mint(verify_claims(user["id"], user["email"], aud=RESET_AUD), VERIFY_SECRET),
            "audience auth": mint(verify_claims(user["id"], user["email"], aud=["fastapi-users:auth"]), VERIFY_SECRET),
            "no audience": mint({"sub": user["id"], "email": user["email"], "exp": now + 3600}, VERIFY_SECRET),
            "HS512": mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET, algorithm="HS512"),
            "alg none": alg_none(verify_claims(user["id"], user["email"])),
            "no sub": mint({"email": user["email"], "aud": VERIFY_AUD, "exp": now + 3600}, VERIFY_SECRET),
            "no email": mint({"sub": user["id"], "aud": VERIFY_AUD, "exp": now + 3600}, VERIFY_SECRET),
            "sub not a uuid": mint(verify_claims("not-a-uuid", user["email"]), VERIFY_SECRET),
            "sub another user": mint(verify_claims(other["id"], user["email"]), VERIFY_SECRET),
            "email of nobody": mint(verify_claims(user["id"], unique_email("ghost")), VERIFY_SECRET),
            "nbf in the future": mint(dict(verify_claims(user["id"], user["email"]), nbf=now + 600), VERIFY_SECRET),
            "iat in the future": mint(dict(verify_claims(user["id"], user["email"]), iat=now + 600), VERIFY_SECRET),
        }
        before, other_before = self.row(user["id"]), self.row(other["id"])
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertJson(self.verify(token), 400, VERIFY_BAD)
                self.assertEqual(self.row(user["id"]), before)
                self.assertEqual(self.row(other["id"]), other_before)
        self.assertEqual(self.receiver.about(user["id"], "after_verify"), [])
        # The untouched good token still works.
        self.assertJson(self.verify(good), 200, h.compact(dict(user, is_verified=True)))

    def test_verify_token_dies_when_the_email_changes(self):
        user = self.new_user("vemail")
        token = mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET)
        new_email = unique_email("vemail-new")
        self.sql('UPDATE "user" SET email = ? WHERE id = ?', (new_email, user["id"]))
        self.assertJson(self.verify(token), 400, VERIFY_BAD)
        self.assertEqual(self.row(user["id"])[4], 0)

    def test_verify_deleted_user_refused(self):
        user = self.new_user("vdeleted")
        token = mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET)
        self.sql('DELETE FROM "user" WHERE id = ?', (user["id"],))
        self.assertJson(self.verify(token), 400, VERIFY_BAD)
        self.assertIsNone(self.row(user["id"]))

    def test_verify_inactive_user_is_verified(self):
        # api-contract §6: is_active is not checked by /verify.
        user = self.new_user("vinactive")
        self.sql('UPDATE "user" SET is_active = 0 WHERE id = ?', (user["id"],))
        r = self.verify(mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET))
        self.assertJson(r, 200, h.compact(dict(user, is_active=False, is_verified=True)))
        self.assertEqual(self.row(user["id"])[2:], (0, 0, 1))

    def test_verify_opens_verified_paths_on_the_next_request(self):
        user = self.new_user("vcache")
        token = h.login_bearer(self.port, user["email"], PASSWORD)
        # Several connections, so every worker has the unverified user cached.
        for _ in range(6):
            r = h.get(self.port, "/verified/x", token=token)
            self.assertJson(r, 403, b'{"detail":"Forbidden"}')
        r = self.verify(mint(verify_claims(user["id"], user["email"]), VERIFY_SECRET))
        self.assertEqual(r.status, 200, r)
        for _ in range(6):
            r = h.get(self.port, "/verified/x", token=token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(h.echo_header_values(r, "X-User-Verified"), ["true"])

    def test_verify_422(self):
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/verify", {})), [("missing", ["body", "token"])])
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/verify", {"token": 123})),
                         [("string_type", ["body", "token"])])

    # ---------------------------------------------------------------- forgot / reset

    def test_forgot_password_event_token_and_reset(self):
        user = self.new_user("fp")
        self.sql('UPDATE "user" SET is_verified = 1 WHERE id = ?', (user["id"],))
        user = dict(user, is_verified=True)
        session = h.login_bearer(self.port, user["email"], PASSWORD)
        stored = self.row(user["id"])[1]
        before = time.time()
        r = self.forgot(user["email"])
        doc = self.token_event(user["id"], "forgot_password")
        token = doc["token"]
        self.assertEqual(doc["user"], user)
        self.assert_token_not_in(r, token)
        self.assertEqual(jwt.get_unverified_header(token), {"alg": "HS256", "typ": "JWT"})
        claims = jwt.decode(token, RESET_SECRET, algorithms=["HS256"], audience=RESET_AUD)
        self.assertEqual(list(json.loads(payload_of(token))), ["sub", "password_fgpt", "aud", "exp"])
        self.assertEqual(claims["sub"], user["id"])
        self.assertEqual(claims["aud"], RESET_AUD)
        self.assertTrue(int(before) + 3600 - 2 <= claims["exp"] <= int(time.time()) + 3600 + 1, claims)
        # password_fgpt: an Argon2id hash of the stored hash, as fastapi-users checks it.
        self.assertTrue(claims["password_fgpt"].startswith("$argon2id$"), claims)
        self.assertTrue(PasswordHasher().verify(claims["password_fgpt"], stored))
        self.assertNotIn(stored, token)
        for secret in (h.TEST_SECRET, VERIFY_SECRET):
            with self.assertRaises(jwt.InvalidSignatureError):
                jwt.decode(token, secret, algorithms=["HS256"], audience=RESET_AUD)

        r = self.reset(token)
        self.assertJson(r, 200, NULL)
        after = self.row(user["id"])
        self.assertNotEqual(after[1], stored)
        self.assertTrue(after[1].startswith("$argon2id$"), after)
        self.assertTrue(PasswordHasher().verify(after[1], NEW_PASSWORD))
        self.assertEqual(after[2:], (1, 0, 1))  # is_verified untouched
        [done] = self.receiver.wait(user["id"], "after_reset_password")
        self.assertEqual(done["body"], b'{"event":"after_reset_password","user":' + h.compact(user) + b"}")
        # Reused: the new hash no longer matches the fingerprint.
        self.assertJson(self.reset(token, "third-password-789"), 400, RESET_BAD)
        self.assertEqual(self.row(user["id"]), after)
        # The old session survives a reset; the passwords swap.
        me = h.get(self.port, "/users/me", token=session)
        self.assertJson(me, 200, h.compact(user))
        self.assertEqual(h.login(self.port, user["email"], PASSWORD).status, 400)
        self.assertEqual(h.login(self.port, user["email"], NEW_PASSWORD).status, 200)

    def test_forgot_password_only_for_the_named_user(self):
        alice = self.new_user("fpa")
        bob = self.new_user("fpb")
        r = self.forgot(bob["email"].upper())
        doc = self.token_event(bob["id"], "forgot_password")
        self.assertEqual(doc["user"], bob)
        self.assertEqual(jwt.decode(doc["token"], RESET_SECRET, algorithms=["HS256"], audience=RESET_AUD)["sub"],
                         bob["id"])
        self.assert_token_not_in(r, doc["token"])
        self.settle_events()
        self.assertEqual(self.receiver.about(alice["id"], "forgot_password"), [])
        self.assertEqual(len(self.receiver.about(bob["id"], "forgot_password")), 1)

    def test_forgot_password_no_event_unknown_inactive(self):
        inactive = self.new_user("fpinactive")
        self.sql('UPDATE "user" SET is_active = 0 WHERE id = ?', (inactive["id"],))
        tokens_before = len(self.receiver.all_tokens())
        self.forgot(unique_email("nobody"))
        self.forgot(inactive["email"])
        self.settle_events()
        self.assertEqual(self.receiver.about(inactive["id"], "forgot_password"), [])
        self.assertEqual(len(self.receiver.all_tokens()), tokens_before)

    def test_forgot_password_422(self):
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/forgot-password", {})),
                         [("missing", ["body", "email"])])
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/forgot-password", {"email": "nope"})),
                         [("value_error", ["body", "email"])])

    def test_reset_pyjwt_minted_token_and_secret_separation(self):
        user = self.new_user("rmint")
        stored = self.row(user["id"])[1]
        fgpt = fingerprint(stored)
        for secret in (h.TEST_SECRET, VERIFY_SECRET):
            with self.subTest(secret=secret):
                self.assertJson(self.reset(mint(reset_claims(user["id"], fgpt), secret)), 400, RESET_BAD)
                self.assertEqual(self.row(user["id"])[1], stored)
        r = self.reset(mint(reset_claims(user["id"], fgpt), RESET_SECRET))
        self.assertJson(r, 200, NULL)
        self.assertTrue(PasswordHasher().verify(self.row(user["id"])[1], NEW_PASSWORD))

    def test_reset_bad_tokens_refused_and_nothing_changes(self):
        user = self.new_user("rbad")
        other = self.new_user("rother")
        stored = self.row(user["id"])[1]
        fgpt = fingerprint(stored)
        good = mint(reset_claims(user["id"], fgpt), RESET_SECRET)
        now = int(time.time())
        cases = {
            "expired": mint(reset_claims(user["id"], fgpt, lifetime=-5), RESET_SECRET),
            "tampered payload": with_payload(good, {"sub": other["id"], "password_fgpt": fgpt, "aud": RESET_AUD,
                                                    "exp": now + 3600}),
            "tampered signature": flip_signature_char(good),
            "not a jwt": "not-a-token",
            "audience verify": mint(reset_claims(user["id"], fgpt, aud=VERIFY_AUD), RESET_SECRET),
            "audience auth": mint(reset_claims(user["id"], fgpt, aud=["fastapi-users:auth"]), RESET_SECRET),
            "no audience": mint({"sub": user["id"], "password_fgpt": fgpt, "exp": now + 3600}, RESET_SECRET),
            "HS512": mint(reset_claims(user["id"], fgpt), RESET_SECRET, algorithm="HS512"),
            "alg none": alg_none(reset_claims(user["id"], fgpt)),
            "no sub": mint({"password_fgpt": fgpt, "aud": RESET_AUD, "exp": now + 3600}, RESET_SECRET),
            "no fingerprint": mint({"sub": user["id"], "aud": RESET_AUD, "exp": now + 3600}, RESET_SECRET),
            "sub not a uuid": mint(reset_claims("not-a-uuid", fgpt), RESET_SECRET),
            "sub of nobody": mint(reset_claims(str(uuid.uuid4()), fgpt), RESET_SECRET),
            "sub another user": mint(reset_claims(other["id"], fgpt), RESET_SECRET),
            "fingerprint of another hash": mint(reset_claims(user["id"], fingerprint(self.row(other["id"])[1])),
                                                RESET_SECRET),
            "plain digest": mint(reset_claims(user["id"], hashlib.sha256(stored.encode()).hexdigest()), RESET_SECRET),
            "stored hash itself": mint(reset_claims(user["id"], stored), RESET_SECRET),
            "nbf in the future": mint(dict(reset_claims(user["id"], fgpt), nbf=now + 600), RESET_SECRET),
        }
        before, other_before = self.row(user["id"]), self.row(other["id"])
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertJson(self.reset(token), 400, RESET_BAD)
                self.assertEqual(self.row(user["id"]), before)
                self.assertEqual(self.row(other["id"]), other_before)
        self.assertEqual(self.receiver.about(user["id"], "after_reset_password"), [])
        self.assertEqual(self.receiver.about(other["id"], "after_reset_password"), [])
        # A bad token wins over a bad password (the token is checked first).
        self.assertJson(self.reset(cases["expired"], "short"), 400, RESET_BAD)
        self.assertJson(self.reset(good), 200, NULL)

    def test_reset_short_password_keeps_the_token_usable(self):
        user = self.new_user("rshort")
        stored = self.row(user["id"])[1]
        token = mint(reset_claims(user["id"], fingerprint(stored)), RESET_SECRET)
        self.assertJson(self.reset(token, "1234567"), 400, RESET_SHORT)
        self.assertEqual(self.row(user["id"])[1], stored)
        self.assertJson(self.reset(token, "12345678"), 200, NULL)
        self.assertTrue(PasswordHasher().verify(self.row(user["id"])[1], "12345678"))

    def test_reset_inactive_user_refused(self):
        user = self.new_user("rinactive")
        stored = self.row(user["id"])[1]
        token = mint(reset_claims(user["id"], fingerprint(stored)), RESET_SECRET)
        self.sql('UPDATE "user" SET is_active = 0 WHERE id = ?', (user["id"],))
        before = self.row(user["id"])
        self.assertJson(self.reset(token), 400, RESET_BAD)
        self.assertEqual(self.row(user["id"]), before)

    def test_reset_deleted_user_refused(self):
        user = self.new_user("rdeleted")
        token = mint(reset_claims(user["id"], fingerprint(self.row(user["id"])[1])), RESET_SECRET)
        self.sql('DELETE FROM "user" WHERE id = ?', (user["id"],))
        self.assertJson(self.reset(token), 400, RESET_BAD)
        self.assertIsNone(self.row(user["id"]))

    def test_reset_422(self):
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/reset-password", {})),
                         [("missing", ["body", "token"]), ("missing", ["body", "password"])])
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/reset-password", {"token": "x"})),
                         [("missing", ["body", "password"])])
        self.assertEqual(self.assert422_items(h.post_json(self.port, "/auth/reset-password",
                                                    {"token": "x", "password": 12345678})),
                         [("string_type", ["body", "password"])])


# --------------------------------------------------------------------------
# interop with a database and secret of the real fastapi-users


class FixtureTokensTest(Base):
    """The fastapi-users 14 fixture with its single secret (fastapi-users' docs use
    one SECRET for the JWT strategy, reset and verify): tokens as that app would
    mint them work here, and doorman's reset fingerprint checks out in argon2-cffi."""

    @classmethod
    def setUpClass(cls):
        cls.tokens = h.fixture_tokens()
        cls.users = cls.tokens["users"]
        cls.secret = cls.tokens["secret"]
        tmp = h.make_temp_dir("doorman-fixture-vr-")
        cls.db_path = os.path.join(tmp, "app.db")
        shutil.copyfile(os.path.join(h.fixtures_dir(), "fastapi-users-14", "app.db"), cls.db_path)
        cls.receiver = Receiver()
        with h.setup_guard(cls):
            cls.stack = h.Stack({
                "secret": cls.secret,
                "hooks": {"url": cls.receiver.url(), "secret": HOOK_SECRET, "timeout_ms": 2000},
            }, db_path=cls.db_path)
        cls.port = cls.stack.port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.receiver.close()

    def user_bytes(self, email, **changes):
        u = self.users[email]
        obj = {"id": u["id"], "email": email, "is_active": u["is_active"],
               "is_superuser": u["is_superuser"], "is_verified": u["is_verified"]}
        obj.update(changes)
        return h.compact(obj)

    def test_pyjwt_access_token_with_the_fixture_secret(self):
        alice = self.users["alice@example.com"]
        token = mint({"sub": alice["id"], "aud": ["fastapi-users:auth"], "exp": int(time.time()) + 600}, self.secret)
        r = h.get(self.port, "/users/me", token=token)
        verified = bool(self.row(alice["id"])[4])  # another test may have verified alice
        self.assertJson(r, 200, self.user_bytes("alice@example.com", is_verified=verified))
        r = h.get(self.port, "/api/x", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "X-User-Id"), [alice["id"]])

    def test_fastapi_users_verify_token_for_a_fixture_user(self):
        alice = self.users["alice@example.com"]
        token = mint(verify_claims(alice["id"], "alice@example.com"), self.secret)
        r = h.post_json(self.port, "/auth/verify", {"token": token})
        self.assertJson(r, 200, self.user_bytes("alice@example.com", is_verified=True))
        self.assertEqual(self.row(alice["id"])[4], 1)

    def test_fastapi_users_reset_token_over_an_argon2_cffi_hash(self):
        # dave is inactive: refused; carol's p=4 argon2-cffi hash: accepted.
        dave = self.users["dave@example.com"]
        dave_before = self.row(dave["id"])
        token = mint(reset_claims(dave["id"], fingerprint(dave_before[1])), self.secret)
        self.assertJson(h.post_json(self.port, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD}),
                        400, RESET_BAD)
        self.assertEqual(self.row(dave["id"]), dave_before)

        carol = self.users["carol@example.com"]
        stored = self.row(carol["id"])[1]
        self.assertIn("p=4", stored)
        token = mint(reset_claims(carol["id"], fingerprint(stored)), self.secret)
        r = h.post_json(self.port, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
        self.assertJson(r, 200, NULL)
        new_hash = self.row(carol["id"])[1]
        self.assertTrue(PasswordHasher().verify(new_hash, NEW_PASSWORD))
        self.assertEqual(h.login(self.port, "carol@example.com", NEW_PASSWORD).status, 200)

    def test_fastapi_users_reset_token_over_a_bcrypt_hash(self):
        bob = self.users["Bob@Example.com"]
        stored = self.row(bob["id"])[1]
        self.assertTrue(stored.startswith("$2b$"), stored)
        token = mint(reset_claims(bob["id"], fingerprint(stored)), self.secret)
        r = h.post_json(self.port, "/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
        self.assertJson(r, 200, NULL)
        new_hash = self.row(bob["id"])[1]
        self.assertTrue(new_hash.startswith("$argon2id$"), new_hash)
        self.assertTrue(PasswordHasher().verify(new_hash, NEW_PASSWORD))

    def test_doorman_reset_token_is_one_fastapi_users_accepts(self):
        # What fastapi-users' reset_password does with doorman's token, in Python:
        # decode with the shared secret and audience, then verify the stored hash
        # against password_fgpt with argon2-cffi (pwdlib's Argon2Hasher).
        alice = self.users["alice@example.com"]
        stored = self.row(alice["id"])[1]
        r = h.post_json(self.port, "/auth/forgot-password", {"email": "ALICE@example.com"})
        self.assertJson(r, 202, NULL)
        [event] = self.receiver.wait(alice["id"], "forgot_password")
        claims = jwt.decode(event["doc"]["token"], self.secret, algorithms=["HS256"], audience=RESET_AUD)
        self.assertEqual(claims["sub"], alice["id"])
        self.assertTrue(PasswordHasher().verify(claims["password_fgpt"], self.row(alice["id"])[1]))
        self.assertEqual(self.row(alice["id"])[1], stored)
        # And the same for the verify token.
        r = h.post_json(self.port, "/auth/request-verify-token", {"email": "alice@example.com"})
        self.assertJson(r, 202, NULL)
        alice_now = self.row(alice["id"])
        if not alice_now[4]:  # not verified by another test meanwhile
            [event] = self.receiver.wait(alice["id"], "request_verify")
            claims = jwt.decode(event["doc"]["token"], self.secret, algorithms=["HS256"], audience=VERIFY_AUD)
            self.assertEqual((claims["sub"], claims["email"]), (alice["id"], "alice@example.com"))


if __name__ == "__main__":
    h.main()
