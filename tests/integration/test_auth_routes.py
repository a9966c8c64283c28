"""Auth API routes of this milestone against a real doorman + echo upstream.

Covers (api-contract.md §1-§4, §7-§10): POST /auth/register (201 body bytes,
email normalisation, duplicates in any case, password policy, 422 shapes, UTF-8
errors, ignored keys, no user created by a 422), POST /auth/{backend}/login
(bearer JSON, JWT claims via PyJWT, LOGIN_BAD_CREDENTIALS cases, 422 form
cases, cookie Set-Cookie bytes per config), POST /auth/{backend}/logout
(bearer, cookie clearing, database token destroyed, 401), GET/PATCH /users/me
(password and email changes, UPDATE_USER_* errors, ignored flags, the order
401 vs 422), 405 with Allow, 307 for a trailing slash, non-route paths under a
prefix forwarded upstream, and a 16-thread registration race.
"""

import json
import os
import sqlite3
import threading
import time

import jwt

import harness as h

SHORT_PW_REGISTER = (b'{"detail":{"code":"REGISTER_INVALID_PASSWORD",'
                     b'"reason":"Password should be at least 8 characters"}}')
SHORT_PW_UPDATE = (b'{"detail":{"code":"UPDATE_USER_INVALID_PASSWORD",'
                   b'"reason":"Password should be at least 8 characters"}}')
BAD_CREDENTIALS = b'{"detail":"LOGIN_BAD_CREDENTIALS"}'
UNAUTHORIZED = b'{"detail":"Unauthorized"}'

_counter = [0]
_counter_lock = threading.Lock()


def unique_email(tag="user"):
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    return "%s%d-%d@example.com" % (tag, n, os.getpid())


class AuthRoutesTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        overrides = {
            "auth": {
                "backends": [
                    {"name": "jwt", "transport": {"type": "bearer"},
                     "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
                    # upstream defaults except secure: no Max-Age, no Domain
                    {"name": "cookie",
                     "transport": {"type": "cookie", "cookie_name": "fastapiusersauth", "cookie_secure": False},
                     "strategy": {"type": "database", "lifetime_seconds": 86400}},
                    # every attribute set
                    {"name": "cookie2",
                     "transport": {"type": "cookie", "cookie_name": "sess", "cookie_max_age": 3600,
                                   "cookie_path": "/app", "cookie_domain": "example.com",
                                   "cookie_secure": True, "cookie_httponly": False,
                                   "cookie_samesite": "strict"},
                     "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
                ]
            },
        }
        cls.stack = h.Stack(overrides)
        cls.port = cls.stack.port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    # ---------------------------------------------------------------- helpers

    def new_user(self, tag="user", password="password-1234"):
        """Registers a user over HTTP; returns (email, id)."""
        email = unique_email(tag)
        return email, self.register_user(self.port, email, password)["id"]

    def user_emails_on_disk(self):
        con = sqlite3.connect(self.stack.db_path)
        try:
            return [row[0] for row in con.execute('SELECT email FROM "user"')]
        finally:
            con.close()

    def assertAllowSubset(self, resp, methods):
        # FastAPI answers with the methods of the first route matching the path
        # (e.g. "GET" for /users/me although PATCH exists too): any non-empty subset.
        allow = [m.strip() for m in (resp.header("Allow") or "").split(",") if m.strip()]
        self.assertTrue(allow, resp)
        self.assertTrue(set(allow) <= methods, resp)

    def assertNoBody204(self, resp):
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.body, b"", resp)
        self.assertIsNone(resp.header("Content-Type"), resp)
        self.assertIsNone(resp.header("Content-Length"), resp)

    # ---------------------------------------------------------------- register

    def test_register_201_user_object_with_normalised_email(self):
        r = h.register(self.port, "King.Arthur@Camelot.BT", "excalibur-1234")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = r.json()
        self.assertEqual(list(body.keys()), ["id", "email", "is_active", "is_superuser", "is_verified"])
        self.assertTrue(h.uuid_like(body["id"]), body)
        expected = h.compact({"id": body["id"], "email": "King.Arthur@camelot.bt", "is_active": True,
                              "is_superuser": False, "is_verified": False})
        self.assertEqual(r.body, expected)
        self.assertIn("King.Arthur@camelot.bt", self.user_emails_on_disk())
        # duplicates, in the same and in another case
        for email in ("King.Arthur@Camelot.BT", "king.arthur@camelot.bt", "KING.ARTHUR@CAMELOT.BT"):
            with self.subTest(email=email):
                d = h.register(self.port, email, "excalibur-1234")
                self.assertJson(d, 400, b'{"detail":"REGISTER_USER_ALREADY_EXISTS"}')

    def test_register_short_password_400_invalid_password(self):
        email = unique_email("shortpw")
        r = h.register(self.port, email, "1234567")
        self.assertJson(r, 400, SHORT_PW_REGISTER)
        self.assertNotIn(email, self.user_emails_on_disk())

    def test_register_non_ascii_email_and_password(self):
        # JSON written with non-ASCII unescaped; the policy counts code points
        email = "J\u00fcrgen.%d@example.com" % os.getpid()
        r = h.register(self.port, email, "\u00e4" * 7)  # 7 code points, 14 bytes
        self.assertJson(r, 400, SHORT_PW_REGISTER)
        r = h.register(self.port, email, "\u00e4" * 8)
        self.assertEqual(r.status, 201, r)
        self.assertIn(email.encode("utf-8"), r.body)
        self.assertEqual(r.body, h.compact({"id": r.json()["id"], "email": email, "is_active": True,
                                            "is_superuser": False, "is_verified": False}))
        self.assertEqual(h.login(self.port, email, "\u00e4" * 8).status, 200)

    def test_register_password_policy_checked_before_existence(self):
        email, _ = self.new_user("policyfirst")
        r = h.register(self.port, email, "short")
        self.assertJson(r, 400, SHORT_PW_REGISTER)

    def test_register_exactly_min_length_password_accepted(self):
        r = h.register(self.port, unique_email("eight"), "12345678")
        self.assertEqual(r.status, 201, r)

    def test_register_422_missing_fields(self):
        r = h.post_json(self.port, "/auth/register", {})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"], d["msg"]) for d in detail],
                         [("missing", ["body", "email"], "Field required"),
                          ("missing", ["body", "password"], "Field required")])
        self.assertEqual(detail[0].get("input"), {})

    def test_register_422_missing_password_only(self):
        email = unique_email("nopw")
        r = h.post_json(self.port, "/auth/register", {"email": email})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("missing", ["body", "password"])])
        self.assertEqual(detail[0].get("input"), {"email": email})
        self.assertNotIn(email, self.user_emails_on_disk())

    def test_register_422_bad_email(self):
        cases = {
            "foo": "An email address must have an @-sign.",
            "@example.com": "There must be something before the @-sign.",
            "a@localhost": None,
            "a@b": None,
        }
        for email, reason in cases.items():
            with self.subTest(email=email):
                r = h.post_json(self.port, "/auth/register", {"email": email, "password": "password-1234"})
                detail = self.assert422(r)
                self.assertEqual(len(detail), 1, detail)
                self.assertEqual(detail[0]["type"], "value_error")
                self.assertEqual(detail[0]["loc"], ["body", "email"])
                self.assertTrue(detail[0]["msg"].startswith("value is not a valid email address: "), detail)
                self.assertIn("reason", detail[0].get("ctx", {}), detail)
                if reason:
                    self.assertEqual(detail[0]["ctx"]["reason"], reason)
                    self.assertEqual(detail[0]["msg"], "value is not a valid email address: " + reason)

    def test_register_422_wrong_types(self):
        r = h.post_json(self.port, "/auth/register", {"email": unique_email("types"), "password": 123})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"], d["msg"]) for d in detail],
                         [("string_type", ["body", "password"], "Input should be a valid string")])
        r = h.post_json(self.port, "/auth/register",
                        {"email": unique_email("types"), "password": "password-1234", "is_superuser": "maybe"})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("bool_parsing", ["body", "is_superuser"])])

    def test_register_422_body_not_an_object(self):
        for body in ([1, 2], "just a string", 42):
            with self.subTest(body=body):
                r = h.post_json(self.port, "/auth/register", body)
                detail = self.assert422(r)
                self.assertEqual(len(detail), 1, detail)
                self.assertEqual(detail[0]["loc"], ["body"])
                self.assertEqual(detail[0]["msg"],
                                 "Input should be a valid dictionary or object to extract fields from")

    def test_register_422_no_body(self):
        r = h.request(self.port, "POST", "/auth/register", headers=[("Content-Length", "0")])
        detail = self.assert422(r)
        self.assertEqual(detail, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])

    def test_register_422_malformed_json(self):
        email = unique_email("malformed")
        raw = ('{"email": "%s", "password": "password-1234"' % email).encode()  # no closing brace
        r = h.request(self.port, "POST", "/auth/register",
                      headers=[("Content-Type", "application/json")], body=raw)
        detail = self.assert422(r)
        self.assertEqual(len(detail), 1, detail)
        self.assertEqual(detail[0]["type"], "json_invalid")
        self.assertEqual(detail[0]["loc"][0], "body")
        self.assertEqual(len(detail[0]["loc"]), 2)
        self.assertIsInstance(detail[0]["loc"][1], int)
        self.assertEqual(detail[0]["msg"], "JSON decode error")
        self.assertNotIn(email, self.user_emails_on_disk())

    def test_register_invalid_utf8_400_parse_error(self):
        raw = b'{"email": "caf\xe9@example.com", "password": "password-1234"}'
        r = h.request(self.port, "POST", "/auth/register",
                      headers=[("Content-Type", "application/json")], body=raw)
        self.assertJson(r, 400, b'{"detail":"There was an error parsing the body"}')

    def test_register_json_without_content_type_not_parsed(self):
        email = unique_email("noctype")
        raw = json.dumps({"email": email, "password": "password-1234"}).encode()
        r = h.request(self.port, "POST", "/auth/register", body=raw)
        self.assert422(r)
        r = h.request(self.port, "POST", "/auth/register", headers=[("Content-Type", "text/plain")], body=raw)
        self.assert422(r)
        self.assertNotIn(email, self.user_emails_on_disk())

    def test_register_vendor_json_content_type_parsed(self):
        email = unique_email("plusjson")
        raw = json.dumps({"email": email, "password": "password-1234"}).encode()
        r = h.request(self.port, "POST", "/auth/register",
                      headers=[("Content-Type", "application/vnd.api+json")], body=raw)
        self.assertEqual(r.status, 201, r)

    def test_no_user_created_by_422_per_cli_list(self):
        email = unique_email("never")
        h.post_json(self.port, "/auth/register", {"email": email})
        h.post_json(self.port, "/auth/register", {"email": email, "password": 12345678})
        h.request(self.port, "POST", "/auth/register", body=json.dumps({"email": email, "password": "x" * 12}))
        r = self.stack.cli("users", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(email, r.stdout)
        self.assertNotIn(email, self.user_emails_on_disk())

    def test_register_extra_keys_and_flags_ignored(self):
        email = unique_email("flags")
        fake_id = "00000000-0000-4000-8000-000000000000"
        r = h.post_json(self.port, "/auth/register",
                        {"email": email, "password": "password-1234", "is_active": False,
                         "is_superuser": True, "is_verified": True, "id": fake_id, "role": "admin"})
        self.assertEqual(r.status, 201, r)
        body = r.json()
        self.assertNotEqual(body["id"], fake_id)
        self.assertEqual((body["is_active"], body["is_superuser"], body["is_verified"]), (True, False, False))

    def test_register_flags_null_accepted(self):
        r = h.post_json(self.port, "/auth/register",
                        {"email": unique_email("nullflags"), "password": "password-1234",
                         "is_active": None, "is_superuser": None, "is_verified": None})
        self.assertEqual(r.status, 201, r)

    # ---------------------------------------------------------------- login

    def test_bearer_login_200_and_jwt_claims(self):
        email, uid = self.new_user("login")
        before = int(time.time())
        r = h.login(self.port, email, "password-1234")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = r.json()
        self.assertEqual(list(body.keys()), ["access_token", "token_type"])
        self.assertEqual(body["token_type"], "bearer")
        self.assertEqual(r.body, h.compact({"access_token": body["access_token"], "token_type": "bearer"}))
        token = body["access_token"]
        self.assertEqual(jwt.get_unverified_header(token), {"alg": "HS256", "typ": "JWT"})
        claims = jwt.decode(token, h.TEST_SECRET, algorithms=["HS256"], audience="fastapi-users:auth")
        self.assertEqual(claims["sub"], uid)
        self.assertEqual(claims["aud"], ["fastapi-users:auth"])
        self.assertIsInstance(claims["exp"], int)
        self.assertTrue(before + 3600 - 5 <= claims["exp"] <= int(time.time()) + 3600 + 1, claims)
        # the token works on /users/me
        me = h.get(self.port, "/users/me", token=token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["id"], uid)

    def test_login_username_case_insensitive(self):
        email, uid = self.new_user("CaseLogin")
        r = h.login(self.port, email.upper(), "password-1234")
        self.assertEqual(r.status, 200, r)

    def test_login_grant_type_password_accepted(self):
        email, _ = self.new_user("grant")
        r = h.post_form(self.port, "/auth/jwt/login",
                        {"grant_type": "password", "username": email, "password": "password-1234",
                         "scope": "", "client_id": "x", "client_secret": "y"})
        self.assertEqual(r.status, 200, r)

    def test_login_bad_credentials(self):
        email, _ = self.new_user("badcred")
        with self.subTest("wrong password"):
            self.assertJson(h.login(self.port, email, "password-9999"), 400, BAD_CREDENTIALS)
        with self.subTest("unknown user"):
            self.assertJson(h.login(self.port, unique_email("ghost"), "password-1234"), 400,
                                    BAD_CREDENTIALS)
        with self.subTest("inactive user"):
            inactive = unique_email("inactive")
            c = self.stack.cli("users", "create", "--email", inactive, "--password", "password-1234", "--inactive")
            self.assertEqual(c.returncode, 0, c.stderr)
            self.assertJson(h.login(self.port, inactive, "password-1234"), 400, BAD_CREDENTIALS)
            self.assertJson(h.login(self.port, inactive, "password-1234", backend="cookie"), 400,
                                    BAD_CREDENTIALS)

    def test_login_422_missing_fields(self):
        r = h.post_form(self.port, "/auth/jwt/login", {})
        detail = self.assert422(r)
        self.assertEqual(detail, [
            {"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": None},
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": None},
        ])

    def test_login_422_empty_values_count_as_missing(self):
        r = h.post_form(self.port, "/auth/jwt/login", {"username": "", "password": "password-1234"})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("missing", ["body", "username"])])
        r = h.post_form(self.port, "/auth/jwt/login", {"username": "a@example.com", "password": ""})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("missing", ["body", "password"])])

    def test_login_422_grant_type_wrong(self):
        r = h.post_form(self.port, "/auth/jwt/login",
                        {"grant_type": "client_credentials", "username": "a@example.com", "password": "x" * 10})
        detail = self.assert422(r)
        self.assertEqual(detail, [{"type": "string_pattern_mismatch", "loc": ["body", "grant_type"],
                                   "msg": "String should match pattern '^password$'",
                                   "input": "client_credentials", "ctx": {"pattern": "^password$"}}])

    def test_login_422_json_body(self):
        email, _ = self.new_user("jsonlogin")
        r = h.post_json(self.port, "/auth/jwt/login", {"username": email, "password": "password-1234"})
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail],
                         [("missing", ["body", "username"]), ("missing", ["body", "password"])])

    def test_cookie_login_204_exact_set_cookie_defaults(self):
        email, _ = self.new_user("cookie")
        r = h.login(self.port, email, "password-1234", backend="cookie")
        self.assertNoBody204(r)
        cookies = r.header_all("Set-Cookie")
        self.assertEqual(len(cookies), 1, r)
        value = cookies[0].split(";", 1)[0].split("=", 1)[1]
        self.assertEqual(len(value), 43, cookies)
        self.assertEqual(cookies[0], "fastapiusersauth=%s; HttpOnly; Path=/; SameSite=lax" % value)
        # it is a database token: a row in accesstoken
        con = sqlite3.connect(self.stack.db_path)
        try:
            rows = con.execute("SELECT token FROM accesstoken WHERE token = ?", (value,)).fetchall()
        finally:
            con.close()
        self.assertEqual(len(rows), 1)
        me = h.get(self.port, "/users/me", cookie="fastapiusersauth=" + value)
        self.assertEqual(me.status, 200, me)

    def test_cookie_login_204_exact_set_cookie_all_attributes(self):
        email, uid = self.new_user("cookie2")
        r = h.login(self.port, email, "password-1234", backend="cookie2")
        self.assertNoBody204(r)
        cookies = r.header_all("Set-Cookie")
        self.assertEqual(len(cookies), 1, r)
        value = cookies[0].split(";", 1)[0].split("=", 1)[1]
        self.assertEqual(cookies[0],
                         "sess=%s; Domain=example.com; Max-Age=3600; Path=/app; SameSite=strict; Secure" % value)
        claims = jwt.decode(value, h.TEST_SECRET, algorithms=["HS256"], audience="fastapi-users:auth")
        self.assertEqual(claims["sub"], uid)

    # ---------------------------------------------------------------- logout

    def test_logout_bearer_204(self):
        email, _ = self.new_user("logout")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.request(self.port, "POST", "/auth/jwt/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertNoBody204(r)
        self.assertEqual(r.header_all("Set-Cookie"), [])
        # a JWT stays valid until exp
        self.assertEqual(h.get(self.port, "/users/me", token=token).status, 200)

    def test_logout_cookie_clears_cookie_and_destroys_database_token(self):
        email, _ = self.new_user("cookieout")
        value = h.login_cookie(self.port, email, "password-1234")
        cookie = "fastapiusersauth=" + value
        self.assertEqual(h.get(self.port, "/users/me", cookie=cookie).status, 200)
        r = h.request(self.port, "POST", "/auth/cookie/logout", headers=[("Cookie", cookie)])
        self.assertNoBody204(r)
        self.assertEqual(r.header_all("Set-Cookie"), ['fastapiusersauth=""; HttpOnly; Max-Age=0; Path=/; SameSite=lax'])
        me = h.get(self.port, "/users/me", cookie=cookie)
        self.assertJson(me, 401, UNAUTHORIZED)
        con = sqlite3.connect(self.stack.db_path)
        try:
            n = con.execute("SELECT count(*) FROM accesstoken WHERE token = ?", (value,)).fetchone()[0]
        finally:
            con.close()
        self.assertEqual(n, 0)
        # and a second logout with the dead token is 401
        again = h.request(self.port, "POST", "/auth/cookie/logout", headers=[("Cookie", cookie)])
        self.assertJson(again, 401, UNAUTHORIZED)

    def test_logout_cookie_all_attributes(self):
        email, _ = self.new_user("cookie2out")
        r = h.login(self.port, email, "password-1234", backend="cookie2")
        self.assertEqual(r.status, 204, r)
        value = r.header("Set-Cookie").split(";", 1)[0].split("=", 1)[1]
        out = h.request(self.port, "POST", "/auth/cookie2/logout", headers=[("Cookie", "sess=" + value)])
        self.assertNoBody204(out)
        self.assertEqual(out.header_all("Set-Cookie"),
                         ['sess=""; Domain=example.com; Max-Age=0; Path=/app; SameSite=strict; Secure'])

    def test_logout_at_jwt_backend_with_cookie_keeps_database_token(self):
        # api-contract §3 quirk: the token destroyed is the one that authenticated,
        # by the route's own strategy (jwt: nothing); the cookie's row stays
        email, _ = self.new_user("crosslogout")
        value = h.login_cookie(self.port, email, "password-1234")
        cookie = "fastapiusersauth=" + value
        r = h.request(self.port, "POST", "/auth/jwt/logout", headers=[("Cookie", cookie)])
        self.assertNoBody204(r)
        self.assertEqual(r.header_all("Set-Cookie"), [])
        self.assertEqual(h.get(self.port, "/users/me", cookie=cookie).status, 200)

    def test_logout_without_token_401(self):
        for backend in ("jwt", "cookie"):
            with self.subTest(backend=backend):
                r = h.request(self.port, "POST", "/auth/%s/logout" % backend)
                self.assertJson(r, 401, UNAUTHORIZED)
                self.assertIsNone(r.header("WWW-Authenticate"))
                r = h.request(self.port, "POST", "/auth/%s/logout" % backend,
                              headers=[("Authorization", "Bearer not-a-token")])
                self.assertJson(r, 401, UNAUTHORIZED)

    # ---------------------------------------------------------------- /users/me

    def test_get_me_200_and_401(self):
        email, uid = self.new_user("me")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.get(self.port, "/users/me", token=token)
        self.assertJson(r, 200, h.compact({"id": uid, "email": email, "is_active": True,
                                                   "is_superuser": False, "is_verified": False}))
        for headers in ([], [("Authorization", "Bearer garbage")], [("Authorization", "Basic Zm9vOmJhcg==")],
                        [("Authorization", "Bearer " + token[:-3] + "AAA")]):
            with self.subTest(headers=headers):
                r = h.request(self.port, "GET", "/users/me", headers=headers)
                self.assertJson(r, 401, UNAUTHORIZED)
                self.assertIsNone(r.header("WWW-Authenticate"))

    def test_inactive_user_token_401_on_user_routes(self):
        email, _ = self.new_user("deactivated")
        token = h.login_bearer(self.port, email, "password-1234")
        self.assertEqual(h.get(self.port, "/users/me", token=token).status, 200)
        c = self.stack.cli("users", "set", "--email", email, "--active", "false")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertJson(h.get(self.port, "/users/me", token=token), 401, UNAUTHORIZED)
        self.assertJson(h.patch_json(self.port, "/users/me", {"password": "another-pass-1"}, token=token),
                                401, UNAUTHORIZED)
        r = h.request(self.port, "POST", "/auth/jwt/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertJson(r, 401, UNAUTHORIZED)

    def test_bearer_scheme_case_insensitive(self):
        email, uid = self.new_user("scheme")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.request(self.port, "GET", "/users/me", headers=[("Authorization", "bEaReR " + token)])
        self.assertEqual(r.status, 200, r)

    def test_patch_me_password_change(self):
        email, uid = self.new_user("pwchange")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.patch_json(self.port, "/users/me", {"password": "new-password-5678"}, token=token)
        self.assertJson(r, 200, h.compact({"id": uid, "email": email, "is_active": True,
                                                   "is_superuser": False, "is_verified": False}))
        self.assertEqual(h.login(self.port, email, "new-password-5678").status, 200)
        self.assertJson(h.login(self.port, email, "password-1234"), 400, BAD_CREDENTIALS)

    def test_patch_me_email_change_resets_verified(self):
        email = unique_email("verified")
        c = self.stack.cli("users", "create", "--email", email, "--password", "password-1234", "--verified")
        self.assertEqual(c.returncode, 0, c.stderr)
        token = h.login_bearer(self.port, email, "password-1234")
        me = h.get(self.port, "/users/me", token=token).json()
        self.assertTrue(me["is_verified"])
        new_email = unique_email("Renamed").replace("example.com", "Example.COM")
        r = h.patch_json(self.port, "/users/me", {"email": new_email}, token=token)
        self.assertEqual(r.status, 200, r)
        normalised = new_email.replace("Example.COM", "example.com")
        self.assertEqual(r.body, h.compact({"id": me["id"], "email": normalised, "is_active": True,
                                            "is_superuser": False, "is_verified": False}))
        self.assertEqual(h.login(self.port, normalised, "password-1234").status, 200)
        self.assertJson(h.login(self.port, email, "password-1234"), 400, BAD_CREDENTIALS)

    def test_patch_me_same_email_is_no_change(self):
        email = unique_email("sameemail")
        c = self.stack.cli("users", "create", "--email", email, "--password", "password-1234", "--verified")
        self.assertEqual(c.returncode, 0, c.stderr)
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.patch_json(self.port, "/users/me", {"email": email}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["is_verified"])

    def test_patch_me_email_taken_400(self):
        other, _ = self.new_user("taken")
        email, _ = self.new_user("taker")
        token = h.login_bearer(self.port, email, "password-1234")
        for target in (other, other.upper(), email.upper()):
            with self.subTest(target=target):
                r = h.patch_json(self.port, "/users/me", {"email": target}, token=token)
                self.assertJson(r, 400, b'{"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"}')

    def test_patch_me_short_password_400(self):
        email, _ = self.new_user("patchshort")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.patch_json(self.port, "/users/me", {"password": "short"}, token=token)
        self.assertJson(r, 400, SHORT_PW_UPDATE)
        # password is checked before email: both bad -> password error
        other, _ = self.new_user("patchshort-other")
        r = h.patch_json(self.port, "/users/me", {"password": "short", "email": other}, token=token)
        self.assertJson(r, 400, SHORT_PW_UPDATE)
        self.assertEqual(h.login(self.port, email, "password-1234").status, 200)

    def test_patch_me_flags_ignored_and_empty_body_noop(self):
        email, uid = self.new_user("patchflags")
        token = h.login_bearer(self.port, email, "password-1234")
        expected = h.compact({"id": uid, "email": email, "is_active": True, "is_superuser": False,
                              "is_verified": False})
        r = h.patch_json(self.port, "/users/me", {"is_superuser": True, "is_verified": True, "is_active": False,
                                                  "id": "00000000-0000-4000-8000-000000000000"}, token=token)
        self.assertJson(r, 200, expected)
        r = h.patch_json(self.port, "/users/me", {}, token=token)
        self.assertJson(r, 200, expected)
        self.assertJson(h.get(self.port, "/users/me", token=token), 200, expected)

    def test_patch_me_422_bad_field_types(self):
        email, _ = self.new_user("patch422")
        token = h.login_bearer(self.port, email, "password-1234")
        r = h.patch_json(self.port, "/users/me", {"is_active": "maybe"}, token=token)
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("bool_parsing", ["body", "is_active"])])
        r = h.patch_json(self.port, "/users/me", {"email": "not-an-email"}, token=token)
        detail = self.assert422(r)
        self.assertEqual([(d["type"], d["loc"]) for d in detail], [("value_error", ["body", "email"])])

    def test_patch_me_unauthenticated_wrong_shape_401_malformed_422(self):
        r = h.patch_json(self.port, "/users/me", {"email": 123, "is_active": "maybe"})
        self.assertJson(r, 401, UNAUTHORIZED)
        r = h.patch_json(self.port, "/users/me", [1, 2, 3])
        self.assertJson(r, 401, UNAUTHORIZED)
        r = h.request(self.port, "PATCH", "/users/me", headers=[("Content-Type", "application/json")],
                      body=b'{"email": ')
        detail = self.assert422(r)
        self.assertEqual(detail[0]["type"], "json_invalid")

    # ---------------------------------------------------------------- routing

    def test_405_with_allow(self):
        r = h.request(self.port, "GET", "/auth/register")
        self.assertJson(r, 405, b'{"detail":"Method Not Allowed"}')
        self.assertEqual(r.header("Allow"), "POST")
        r = h.request(self.port, "GET", "/auth/jwt/login")
        self.assertJson(r, 405, b'{"detail":"Method Not Allowed"}')
        self.assertEqual(r.header("Allow"), "POST")
        r = h.request(self.port, "PUT", "/users/me", headers=[("Content-Type", "application/json")], body=b"{}")
        self.assertJson(r, 405, b'{"detail":"Method Not Allowed"}')
        self.assertAllowSubset(r, {"GET", "PATCH"})

    def test_delete_users_me(self):
        # This milestone has no {users}/{id} routes: DELETE /users/me is a known path
        # with a wrong method (405 + Allow). Once DELETE {users}/{id} exists it is that
        # route with id "me": 401 unauthenticated (api-contract.md §7).
        r = h.request(self.port, "DELETE", "/users/me")
        self.assertIn(r.status, (405, 401), r)
        if r.status == 405:
            self.assertEqual(r.body, b'{"detail":"Method Not Allowed"}')
            self.assertAllowSubset(r, {"GET", "PATCH"})

    def test_trailing_slash_307(self):
        for method, path, target in (("GET", "/users/me/", "/users/me"),
                                     ("POST", "/auth/register/", "/auth/register"),
                                     ("POST", "/auth/jwt/login/", "/auth/jwt/login")):
            with self.subTest(path=path):
                r = h.request(self.port, method, path, headers=[("Content-Length", "0")])
                self.assertEqual(r.status, 307, r)
                location = r.header("Location") or ""
                self.assertIn(location, (target, "http://127.0.0.1:%d%s" % (self.port, target)), r)

    def test_other_paths_under_prefixes_are_forwarded(self):
        email, uid = self.new_user("posts")
        token = h.login_bearer(self.port, email, "password-1234")
        for path in ("/users/42/posts", "/users/me/settings", "/auth/something-else"):
            with self.subTest(path=path):
                r = h.get(self.port, path, token=token)
                self.assertEqual(r.status, 200, r)
                echo = r.json()
                self.assertEqual(echo["path"], path)
                self.assertEqual(h.echo_header_values(r, "X-User-Id"), [uid])
        # still under the access policy: no token -> 401
        self.assertJson(h.get(self.port, "/users/42/posts"), 401, UNAUTHORIZED)

    def test_keep_alive_across_auth_routes(self):
        email, uid = self.new_user("keepalive")
        with h.Conn(self.port) as c:
            r1 = h.post_form(self.port, "/auth/jwt/login", {"username": email, "password": "password-1234"}, conn=c)
            self.assertEqual(r1.status, 200, r1)
            token = r1.json()["access_token"]
            r2 = h.get(self.port, "/users/me", token=token, conn=c)
            self.assertEqual(r2.status, 200, r2)
            r3 = h.get(self.port, "/users/me", conn=c)
            self.assertEqual(r3.status, 401, r3)
            r4 = h.get(self.port, "/users/7/posts", token=token, conn=c)
            self.assertEqual(r4.status, 200, r4)

    # ---------------------------------------------------------------- races

    def _race(self, emails):
        barrier = threading.Barrier(len(emails))
        results = [None] * len(emails)

        def worker(i):
            try:
                barrier.wait(timeout=10)
                results[i] = h.register(self.port, emails[i], "password-1234")
            except Exception as e:  # pragma: no cover
                results[i] = e

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(emails))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for r in results:
            self.assertIsInstance(r, h.Response, results)
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [201] + [400] * (len(emails) - 1), results)
        for r in results:
            if r.status == 400:
                self.assertEqual(r.body, b'{"detail":"REGISTER_USER_ALREADY_EXISTS"}', r)
        return results

    def test_concurrent_registration_same_email(self):
        email = unique_email("race")
        self._race([email] * 16)
        on_disk = [e for e in self.user_emails_on_disk() if e.lower() == email.lower()]
        self.assertEqual(len(on_disk), 1, on_disk)

    def test_concurrent_registration_email_differing_in_case(self):
        email = unique_email("racecase")
        variants = []
        for i in range(16):
            variants.append("".join(ch.upper() if (i >> (j % 4)) & 1 else ch for j, ch in enumerate(email)))
        self._race(variants)
        on_disk = [e for e in self.user_emails_on_disk() if e.lower() == email.lower()]
        self.assertEqual(len(on_disk), 1, on_disk)


class RequiresVerificationTest(h.DoormanTestCase):
    """users.requires_verification: login, logout and /users/me refuse unverified users."""

    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack({"users": {"requires_verification": True}})
        cls.port = cls.stack.port

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_register_allowed_login_refused_until_verified(self):
        email = unique_email("unverified")
        r = h.register(self.port, email, "password-1234")
        self.assertEqual(r.status, 201, r)
        r = h.login(self.port, email, "password-1234")
        self.assertEqual((r.status, r.body), (400, b'{"detail":"LOGIN_USER_NOT_VERIFIED"}'), r)
        # the password is checked first
        r = h.login(self.port, email, "wrong-password")
        self.assertEqual((r.status, r.body), (400, BAD_CREDENTIALS), r)
        c = self.stack.cli("users", "set", "--email", email, "--verified", "true")
        self.assertEqual(c.returncode, 0, c.stderr)
        token = h.login_bearer(self.port, email, "password-1234")
        me = h.get(self.port, "/users/me", token=token)
        self.assertEqual(me.status, 200, me)
        self.assertTrue(me.json()["is_verified"])

    def test_unverified_token_403_on_user_routes_and_logout(self):
        email = unique_email("unverify-later")
        c = self.stack.cli("users", "create", "--email", email, "--password", "password-1234", "--verified")
        self.assertEqual(c.returncode, 0, c.stderr)
        token = h.login_bearer(self.port, email, "password-1234")
        c = self.stack.cli("users", "set", "--email", email, "--verified", "false")
        self.assertEqual(c.returncode, 0, c.stderr)
        forbidden = b'{"detail":"Forbidden"}'
        r = h.get(self.port, "/users/me", token=token)
        self.assertEqual((r.status, r.body), (403, forbidden), r)
        r = h.patch_json(self.port, "/users/me", {}, token=token)
        self.assertEqual((r.status, r.body), (403, forbidden), r)
        r = h.request(self.port, "POST", "/auth/jwt/logout", headers=[("Authorization", "Bearer " + token)])
        self.assertEqual((r.status, r.body), (403, forbidden), r)


if __name__ == "__main__":
    h.main()
