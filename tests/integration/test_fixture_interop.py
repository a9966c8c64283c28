"""doorman on a database and tokens written by the real fastapi-users 14.

Uses tests/fixtures/fastapi-users-14 (see its README): a copy of app.db, the
fixture secret, a bearer+JWT backend `jwt` and a cookie+database backend
`cookie` (Secure off, lifetime 10 years so carol's token is still valid).
Covers: alice's library-minted JWT and carol's database token accepted on a
forwarded path with the right identity; password logins against argon2-cffi
hashes; Bob's bcrypt hash and mixed-case email (login as bob@example.com, hash
upgraded to Argon2id and verifiable by argon2-cffi); dave (inactive) refused;
doorman-minted JWTs, database tokens and password hashes readable by the Python
side (PyJWT, argon2-cffi, SQLAlchemy's text formats).
"""

import base64
import json
import os
import re
import shutil
import sqlite3

import jwt
from argon2 import PasswordHasher

import harness as h

TEN_YEARS = 10 * 365 * 24 * 3600


class FixtureInteropTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tokens = h.fixture_tokens()
        cls.users = cls.tokens["users"]
        tmp = h.make_temp_dir("doorman-fixture-")
        cls.db_path = os.path.join(tmp, "app.db")
        shutil.copyfile(os.path.join(h.fixtures_dir(), "fastapi-users-14", "app.db"), cls.db_path)
        cls.stack = h.Stack({
            "secret": cls.tokens["secret"],
            "auth": {"backends": [
                {"name": "jwt", "transport": {"type": "bearer"},
                 "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
                {"name": "cookie",
                 "transport": {"type": "cookie", "cookie_name": "fastapiusersauth", "cookie_secure": False,
                               "cookie_max_age": 3600},
                 "strategy": {"type": "database", "lifetime_seconds": TEN_YEARS}},
            ]},
        }, db_path=cls.db_path)
        cls.port = cls.stack.port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def user(self, email):
        return self.users[email]

    def stored_hash(self, user_id):
        con = sqlite3.connect(self.db_path)
        try:
            row = con.execute('SELECT hashed_password FROM "user" WHERE id = ?', (user_id,)).fetchone()
        finally:
            con.close()
        return row[0]

    def user_object(self, email):
        u = self.user(email)
        return h.compact({"id": u["id"], "email": email, "is_active": u["is_active"],
                          "is_superuser": u["is_superuser"], "is_verified": u["is_verified"]})

    # ---------------------------------------------------------------- tokens from the library

    def test_alice_library_jwt_accepted_on_forwarded_path(self):
        alice = self.user("alice@example.com")
        r = h.get(self.port, "/api/whoami", token=self.tokens["alice_access_jwt"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "X-User-Id"), [alice["id"]])
        self.assertEqual(h.echo_header_values(r, "X-User-Email"), ["alice@example.com"])
        self.assertEqual(h.echo_header_values(r, "X-User-Superuser"), ["false"])
        self.assertEqual(h.echo_header_values(r, "X-User-Verified"), ["false"])

    def test_alice_library_jwt_on_users_me(self):
        r = h.get(self.port, "/users/me", token=self.tokens["alice_access_jwt"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.user_object("alice@example.com"))

    def test_carol_database_token_accepted_as_cookie(self):
        carol = self.user("carol@example.com")
        cookie = "fastapiusersauth=" + self.tokens["carol_database_token"]
        r = h.get(self.port, "/api/whoami", cookie=cookie)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "X-User-Id"), [carol["id"]])
        self.assertEqual(h.echo_header_values(r, "X-User-Superuser"), ["true"])
        self.assertEqual(h.echo_header_values(r, "X-User-Verified"), ["true"])
        r = h.get(self.port, "/admin/panel", cookie=cookie)
        self.assertEqual(r.status, 200, r)
        me = h.get(self.port, "/users/me", cookie=cookie)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.body, self.user_object("carol@example.com"))

    def test_carol_database_token_not_a_bearer_token(self):
        r = h.get(self.port, "/api/whoami", token=self.tokens["carol_database_token"])
        self.assertEqual(r.status, 401, r)

    # ---------------------------------------------------------------- password logins

    def test_alice_logs_in_with_her_password(self):
        alice = self.user("alice@example.com")
        r = h.login(self.port, "alice@example.com", alice["password"])
        self.assertEqual(r.status, 200, r)
        token = r.json()["access_token"]
        claims = jwt.decode(token, self.tokens["secret"], algorithms=["HS256"], audience="fastapi-users:auth")
        self.assertEqual(claims["sub"], alice["id"])
        self.assertEqual(h.get(self.port, "/users/me", token=token).body, self.user_object("alice@example.com"))
        # the stored hash still verifies with argon2-cffi (rehashed or not)
        PasswordHasher().verify(self.stored_hash(alice["id"]), alice["password"])

    def test_bob_bcrypt_login_case_insensitive_and_rehash(self):
        bob = self.user("Bob@Example.com")
        before = self.stored_hash(bob["id"])
        self.assertTrue(before.startswith("$2b$"), before)
        self.assertEqual(h.login(self.port, "bob@example.com", "wrong-password").status, 400)
        self.assertEqual(self.stored_hash(bob["id"]), before, "a failed login must not touch the hash")
        r = h.login(self.port, "bob@example.com", bob["password"])
        self.assertEqual(r.status, 200, r)
        after = self.stored_hash(bob["id"])
        self.assertTrue(after.startswith("$argon2id$"), after)
        self.assertTrue(PasswordHasher().verify(after, bob["password"]))
        # logins keep working on the new hash, in any case of the email
        r = h.login(self.port, "BOB@EXAMPLE.COM", bob["password"])
        self.assertEqual(r.status, 200, r)
        me = h.get(self.port, "/users/me", token=r.json()["access_token"])
        self.assertEqual(me.body, self.user_object("Bob@Example.com"))
        self.assertEqual(self.stored_hash(bob["id"]), after, "a current hash is not rehashed again")

    def test_dave_inactive_login_refused(self):
        r = h.login(self.port, "dave@example.com", self.user("dave@example.com")["password"])
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.body, b'{"detail":"LOGIN_BAD_CREDENTIALS"}')

    def test_wrong_passwords_refused(self):
        for email in ("alice@example.com", "carol@example.com"):
            r = h.login(self.port, email, "not-the-password")
            self.assertEqual(r.body, b'{"detail":"LOGIN_BAD_CREDENTIALS"}', r)

    # ---------------------------------------------------------------- what doorman writes

    def test_doorman_jwt_decodes_with_pyjwt_like_the_library(self):
        carol = self.user("carol@example.com")
        token = h.login_bearer(self.port, "carol@example.com", carol["password"])
        self.assertEqual(jwt.get_unverified_header(token), {"alg": "HS256", "typ": "JWT"})
        claims = jwt.decode(token, self.tokens["secret"], algorithms=["HS256"], audience="fastapi-users:auth")
        self.assertEqual(claims["sub"], carol["id"])
        self.assertEqual(claims["aud"], ["fastapi-users:auth"])
        self.assertIsInstance(claims["exp"], int)
        # claims in issue order, compact JSON as PyJWT writes
        payload_b64 = token.split(".")[1]
        payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
        self.assertEqual(list(json.loads(payload).keys()), ["sub", "aud", "exp"])

    def test_doorman_database_token_in_sqlalchemy_format(self):
        carol = self.user("carol@example.com")
        r = h.login(self.port, "carol@example.com", carol["password"], backend="cookie")
        self.assertEqual(r.status, 204, r)
        value = r.header("Set-Cookie").split(";", 1)[0].split("=", 1)[1]
        self.assertEqual(r.header("Set-Cookie"),
                         "fastapiusersauth=%s; HttpOnly; Max-Age=3600; Path=/; SameSite=lax" % value)
        self.assertRegex(value, r"^[A-Za-z0-9_-]{43}$")
        con = sqlite3.connect(self.db_path)
        try:
            row = con.execute("SELECT user_id, created_at FROM accesstoken WHERE token = ?", (value,)).fetchone()
        finally:
            con.close()
        self.assertIsNotNone(row)
        self.assertEqual(row[0], carol["id"])
        self.assertRegex(row[1], r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
        self.assertEqual(h.get(self.port, "/api/x", cookie="fastapiusersauth=" + value).status, 200)

    def test_register_writes_library_compatible_row(self):
        r = h.register(self.port, "Erin@Example.ORG", "erin-password-2024")
        self.assertEqual(r.status, 201, r)
        uid = r.json()["id"]
        self.assertRegex(uid, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        con = sqlite3.connect(self.db_path)
        try:
            row = con.execute('SELECT email, hashed_password, is_active, is_superuser, is_verified '
                              'FROM "user" WHERE id = ?', (uid,)).fetchone()
        finally:
            con.close()
        self.assertIsNotNone(row)
        self.assertEqual(row[0], "Erin@example.org")
        self.assertTrue(row[1].startswith("$argon2id$"), row[1])
        self.assertTrue(PasswordHasher().verify(row[1], "erin-password-2024"))
        self.assertEqual(tuple(row[2:]), (1, 0, 0))
        # duplicates of fixture users are refused case-insensitively
        d = h.register(self.port, "ALICE@example.com", "whatever-password")
        self.assertEqual(d.body, b'{"detail":"REGISTER_USER_ALREADY_EXISTS"}', d)

    def test_existing_rows_left_intact(self):
        con = sqlite3.connect(self.db_path)
        try:
            rows = dict(con.execute('SELECT email, id FROM "user"').fetchall())
        finally:
            con.close()
        for email, u in self.users.items():
            self.assertEqual(rows.get(email), u["id"], email)

    def test_fixture_token_set_cookie_shape_matches_doorman(self):
        # the library's Set-Cookie for the cookie backend (max_age 3600, Secure off)
        expected = self.tokens["cookie_login_set_cookie"]
        self.assertTrue(re.match(r"^fastapiusersauth=[A-Za-z0-9_-]{43}; HttpOnly; Max-Age=3600; Path=/; SameSite=lax$",
                                 expected), expected)
        dave_free = self.user("carol@example.com")
        r = h.login(self.port, "carol@example.com", dave_free["password"], backend="cookie")
        got = r.header("Set-Cookie")
        self.assertEqual(re.sub(r"=[A-Za-z0-9_-]{43};", "=T;", got), re.sub(r"=[A-Za-z0-9_-]{43};", "=T;", expected))


if __name__ == "__main__":
    h.main()
