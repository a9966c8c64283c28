"""Access policy and header handling of forwarded requests, end to end.

Covers (DESIGN.md §2, §4, api-contract.md §8): access levels (anonymous with
and without a token, authenticated, verified, superuser, deny), the 401/403
bodies, redirect mode, identity headers as the upstream sees them, stripping of
spoofed identity headers in every spelling and count, `Connection:` never
removing doorman's headers, path normalisation deciding and forwarding the same
path, refused encodings (%2F %5C %00), X-Forwarded-* handling, forward_credentials,
query strings kept as sent, and JWT rejection cases minted with PyJWT (expired,
alg none, wrong audience, wrong secret, other algorithm, bad sub).
"""

import base64
import json
import time
import urllib.parse
import uuid

import jwt

import harness as h

UNAUTHORIZED = b'{"detail":"Unauthorized"}'
FORBIDDEN = b'{"detail":"Forbidden"}'
IDENTITY = ("X-User-Id", "X-User-Email", "X-User-Superuser", "X-User-Verified")


def identity_seen(resp):
    """Folded identity-header names -> list of values the upstream received."""
    out = {}
    for k, v in h.echo_headers(resp):
        f = h.fold(k)
        if f in {h.fold(n) for n in IDENTITY}:
            out.setdefault(f, []).append(v)
    return out


class ProxyAccessTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack()
        with h.setup_guard(cls):
            cls.port = cls.stack.port
            p = cls.port
            # normal user over HTTP
            cls.email = "normal-user@example.com"
            r = h.register(p, cls.email, "password-1234")
            assert r.status == 201, (r, cls.stack.logs())
            cls.uid = r.json()["id"]
            cls.token = h.login_bearer(p, cls.email, "password-1234")
            # superuser and verified user via the CLI
            cls.su_email = "root@example.com"
            c = cls.stack.cli("users", "create", "--email", cls.su_email, "--password", "password-1234",
                              "--superuser", "--verified")
            assert c.returncode == 0, c.stderr
            cls.su_token = h.login_bearer(p, cls.su_email, "password-1234")
            cls.su_uid = h.get(p, "/users/me", token=cls.su_token).json()["id"]
            cls.v_email = "verified@example.com"
            c = cls.stack.cli("users", "create", "--email", cls.v_email, "--password", "password-1234", "--verified")
            assert c.returncode == 0, c.stderr
            cls.v_token = h.login_bearer(p, cls.v_email, "password-1234")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assertStatusBody(self, resp, status, body):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.body, body, resp)

    def assertForwarded(self, resp, path=None):
        self.assertEqual(resp.status, 200, resp)
        echo = resp.json()
        if path is not None:
            self.assertEqual(echo["path"], path, echo)
        return echo

    # ---------------------------------------------------------------- levels

    def test_authenticated_path_forwards_identity_headers(self):
        r = h.get(self.port, "/api/items", token=self.token)
        self.assertForwarded(r, "/api/items")
        self.assertEqual(identity_seen(r), {
            "x-user-id": [self.uid], "x-user-email": [self.email],
            "x-user-superuser": ["false"], "x-user-verified": ["false"]})
        names = [k for k, _ in h.echo_headers(r) if h.fold(k) in {h.fold(n) for n in IDENTITY}]
        self.assertEqual(sorted(names), sorted(IDENTITY))

    def test_cookie_token_authenticates_forwarded_request(self):
        value = h.login_cookie(self.port, self.email, "password-1234")
        r = h.get(self.port, "/api/items", cookie="other=1; fastapiusersauth=" + value)
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r)["x-user-id"], [self.uid])

    def test_anonymous_path_without_token_has_no_identity(self):
        r = h.get(self.port, "/public/page")
        self.assertForwarded(r, "/public/page")
        self.assertEqual(identity_seen(r), {})
        r = h.get(self.port, "/healthz")
        self.assertForwarded(r, "/healthz")
        self.assertEqual(identity_seen(r), {})

    def test_anonymous_path_with_valid_token_gets_identity(self):
        r = h.get(self.port, "/public/page", token=self.token)
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r)["x-user-id"], [self.uid])
        self.assertEqual(identity_seen(r)["x-user-email"], [self.email])

    def test_anonymous_path_with_invalid_token_forwarded_without_identity(self):
        r = h.get(self.port, "/public/page", token="not-a-token")
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r), {})

    def test_default_authenticated_401_without_token(self):
        for method in ("GET", "POST", "DELETE"):
            with self.subTest(method=method):
                r = h.request(self.port, method, "/api/items", headers=[("Content-Length", "0")])
                self.assertStatusBody(r, 401, UNAUTHORIZED)
                self.assertEqual(r.header("Content-Type"), "application/json")
                self.assertIsNone(r.header("WWW-Authenticate"))

    def test_invalid_tokens_401(self):
        for token in ("garbage", self.token + "x", self.token[:-4]):
            with self.subTest(token=token[-8:]):
                self.assertStatusBody(h.get(self.port, "/api/items", token=token), 401, UNAUTHORIZED)
        self.assertStatusBody(h.get(self.port, "/api/items", cookie="fastapiusersauth=nope"), 401, UNAUTHORIZED)

    def test_superuser_rule_forbids_normal_user(self):
        self.assertStatusBody(h.get(self.port, "/admin/panel", token=self.token), 403, FORBIDDEN)
        self.assertStatusBody(h.get(self.port, "/admin/panel", token=self.v_token), 403, FORBIDDEN)
        self.assertStatusBody(h.get(self.port, "/admin/panel"), 401, UNAUTHORIZED)

    def test_superuser_passes_superuser_rule(self):
        r = h.get(self.port, "/admin/panel", token=self.su_token)
        self.assertForwarded(r, "/admin/panel")
        self.assertEqual(identity_seen(r), {
            "x-user-id": [self.su_uid], "x-user-email": [self.su_email],
            "x-user-superuser": ["true"], "x-user-verified": ["true"]})

    def test_verified_rule(self):
        self.assertStatusBody(h.get(self.port, "/verified/x", token=self.token), 403, FORBIDDEN)
        r = h.get(self.port, "/verified/x", token=self.v_token)
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r)["x-user-verified"], ["true"])

    def test_deny_rule_403_for_everyone(self):
        self.assertStatusBody(h.get(self.port, "/denied/x", token=self.su_token), 403, FORBIDDEN)
        self.assertStatusBody(h.get(self.port, "/denied/x", token=self.token), 403, FORBIDDEN)
        r = h.get(self.port, "/denied/x")
        self.assertIn(r.status, (401, 403), r)

    def test_inactive_user_is_unauthenticated(self):
        email = "soon-inactive@example.com"
        self.assertEqual(h.register(self.port, email, "password-1234").status, 201)
        token = h.login_bearer(self.port, email, "password-1234")
        self.assertForwarded(h.get(self.port, "/api/x", token=token))
        c = self.stack.cli("users", "set", "--email", email, "--active", "false")
        self.assertEqual(c.returncode, 0, c.stderr)
        # users.cache_ttl_ms is 0 in these tests: the change is seen at once
        self.assertStatusBody(h.get(self.port, "/api/x", token=token), 401, UNAUTHORIZED)
        r = h.get(self.port, "/public/x", token=token)
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r), {})

    # ---------------------------------------------------------------- spoofing

    SPOOFS = [
        ("X-User-Id", "evil-1"), ("x-user-id", "evil-2"), ("X_User_Id", "evil-3"), ("X-USER_ID", "evil-4"),
        ("x_USER-id", "evil-5"), ("X-User-Id", "evil-6"),
        ("X-User-Email", "evil@example.com"), ("x_user_email", "evil2@example.com"),
        ("X-User-Superuser", "true"), ("X_USER_SUPERUSER", "true"),
        ("X-User-Verified", "true"), ("x-user_verified", "true"),
    ]

    def test_spoofed_identity_headers_dropped_for_anonymous(self):
        r = h.get(self.port, "/public/page", headers=self.SPOOFS)
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r), {})
        seen = json.dumps(r.json()["headers"])
        self.assertNotIn("evil", seen)

    def test_spoofed_identity_headers_replaced_for_user(self):
        for path, token in (("/api/items", self.token), ("/public/page", self.token)):
            with self.subTest(path=path):
                r = h.get(self.port, path, headers=self.SPOOFS, token=token)
                self.assertForwarded(r)
                self.assertEqual(identity_seen(r), {
                    "x-user-id": [self.uid], "x-user-email": [self.email],
                    "x-user-superuser": ["false"], "x-user-verified": ["false"]})
                self.assertNotIn("evil", json.dumps(r.json()["headers"]))

    def test_connection_header_cannot_remove_injected_headers(self):
        r = h.get(self.port, "/api/items", token=self.token, headers=[
            ("Connection", "X-User-Id, X-User-Email"), ("Connection", "x_user_superuser, X-Forwarded-For"),
            ("Connection", "keep-alive, X-User-Verified, X-Forwarded-Proto, X-Forwarded-Host")])
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r), {
            "x-user-id": [self.uid], "x-user-email": [self.email],
            "x-user-superuser": ["false"], "x-user-verified": ["false"]})
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-Proto"), ["http"])

    def test_connection_listed_client_header_is_removed(self):
        r = h.get(self.port, "/public/page", headers=[("Connection", "X-Hop-Secret"), ("X-Hop-Secret", "1"),
                                                     ("X-End-To-End", "2")])
        self.assertForwarded(r)
        self.assertEqual(h.echo_header_values(r, "X-Hop-Secret"), [])
        self.assertEqual(h.echo_header_values(r, "X-End-To-End"), ["2"])

    # ---------------------------------------------------------------- paths

    TRAVERSALS = ["/public/../admin/x", "/%2e%2e/admin/x", "//admin/x", "/public/%2e%2e/admin/x",
                  "/public/%2E%2E/admin/x", "/public/./../admin/./x", "///admin//x", "/%61dmin/x",
                  "/public/..%2f..%2fadmin/x".replace("%2f", "/")]

    def test_path_normalisation_decides_rules(self):
        for path in self.TRAVERSALS:
            with self.subTest(path=path):
                self.assertStatusBody(h.get(self.port, path), 401, UNAUTHORIZED)
                self.assertStatusBody(h.get(self.port, path, token=self.token), 403, FORBIDDEN)
                r = h.get(self.port, path, token=self.su_token)
                self.assertForwarded(r, "/admin/x")

    def test_path_normalisation_forwards_normalised_path(self):
        for path, expected in (("/public/a/./b/../c", "/public/a/c"), ("/public//a///b", "/public/a/b"),
                               ("/public/%7Euser/%41", "/public/~user/A"), ("/public/a%20b", "/public/a%20b")):
            with self.subTest(path=path):
                self.assertForwarded(h.get(self.port, path), expected)

    def test_path_matching_is_case_sensitive(self):
        # /ADMIN/ is not /admin/: default level (authenticated) applies
        self.assertForwarded(h.get(self.port, "/ADMIN/x", token=self.token), "/ADMIN/x")

    def test_encoded_slash_backslash_nul_refused_400(self):
        for path in ("/public/a%2Fb", "/public/a%2fb", "/public/a%5Cb", "/public/a%5cb", "/public/a%00b",
                     "/public/..%2Fadmin/x"):
            with self.subTest(path=path):
                r = h.get(self.port, path, token=self.su_token)
                self.assertEqual(r.status, 400, r)

    def test_query_string_forwarded_as_sent(self):
        q = "a=1&b=%2F&c=%20x+y&a=2&empty=&flag&d=%2e%2e/x"
        r = h.get(self.port, "/public/q?" + q)
        echo = self.assertForwarded(r, "/public/q")
        self.assertEqual(echo["query"], q)
        r = h.get(self.port, "/public/../public/q?x=/../admin")
        echo = self.assertForwarded(r, "/public/q")
        self.assertEqual(echo["query"], "x=/../admin")

    # ---------------------------------------------------------------- forwarding headers

    def test_x_forwarded_headers_set_and_client_values_dropped(self):
        r = h.get(self.port, "/public/fwd", headers=[
            ("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "5.6.7.8"),
            ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")])
        self.assertForwarded(r)
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-Proto"), ["http"])
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-Host"), ["127.0.0.1:%d" % self.port])
        self.assertNotIn("evil.example", json.dumps(r.json()["headers"]))

    def test_underscore_spelled_x_forwarded_for_dropped(self):
        # CGI/WSGI-style servers read X_Forwarded_For as X-Forwarded-For
        r = h.get(self.port, "/public/fwd", headers=[("x_forwarded_for", "9.9.9.9"), ("X_Forwarded_Host", "e.x")])
        self.assertForwarded(r)
        self.assertNotIn("9.9.9.9", json.dumps(r.json()["headers"]))
        self.assertNotIn("e.x", json.dumps(r.json()["headers"]))

    def test_x_forwarded_host_is_client_host(self):
        r = h.request(self.port, "GET", "/public/fwd", headers=[("Host", "app.example.test:8443")])
        self.assertForwarded(r)
        self.assertEqual(h.echo_header_values(r, "X-Forwarded-Host"), ["app.example.test:8443"])

    def test_credentials_forwarded_by_default(self):
        r = h.get(self.port, "/api/items", token=self.token, cookie="theme=dark")
        self.assertForwarded(r)
        self.assertEqual(h.echo_header_values(r, "Authorization"), ["Bearer " + self.token])
        self.assertEqual(h.echo_header_values(r, "Cookie"), ["theme=dark"])

    def test_ordinary_headers_and_method_forwarded(self):
        r = h.request(self.port, "PUT", "/api/items/1", headers=[
            ("Authorization", "Bearer " + self.token), ("X-Custom", "one"), ("X-Custom", "two"),
            ("Content-Type", "text/plain")], body=b"hello")
        echo = self.assertForwarded(r, "/api/items/1")
        self.assertEqual(echo["method"], "PUT")
        self.assertEqual(h.echo_header_values(r, "X-Custom"), ["one", "two"])
        self.assertEqual(echo["body_size"], 5)

    # ---------------------------------------------------------------- JWTs

    def mint(self, claims=None, secret=h.TEST_SECRET, algorithm="HS256", headers=None):
        payload = {"sub": self.uid, "aud": ["fastapi-users:auth"], "exp": int(time.time()) + 600}
        payload.update(claims or {})
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)

    def test_pyjwt_minted_token_accepted(self):
        r = h.get(self.port, "/api/x", token=self.mint())
        self.assertForwarded(r)
        self.assertEqual(identity_seen(r)["x-user-id"], [self.uid])
        # aud as a plain string, as PyJWT also accepts
        r = h.get(self.port, "/api/x", token=self.mint({"aud": "fastapi-users:auth"}))
        self.assertForwarded(r)

    def test_rejected_jwts_401(self):
        b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
        now = int(time.time())
        alg_none = b64({"alg": "none", "typ": "JWT"}) + "." + b64(
            {"sub": self.uid, "aud": ["fastapi-users:auth"], "exp": now + 600}) + "."
        cases = {
            "expired": self.mint({"exp": now - 10}),
            "exp equal to now-1": self.mint({"exp": now - 1}),
            "alg none": alg_none,
            "wrong audience": self.mint({"aud": ["fastapi-users:verify"]}),
            "no audience": self.mint({"aud": None}),
            "wrong secret": self.mint(secret="another-secret-another-secret-xx"),
            "HS512": self.mint(algorithm="HS512"),
            "sub not a uuid": self.mint({"sub": "not-a-uuid"}),
            "no sub": self.mint({"sub": None}),
            "unknown user": self.mint({"sub": str(uuid.uuid4())}),
            "nbf in future": self.mint({"nbf": now + 600}),
            "iat in future": self.mint({"iat": now + 600}),
        }
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertStatusBody(h.get(self.port, "/api/x", token=token), 401, UNAUTHORIZED)
                r = h.get(self.port, "/public/x", token=token)
                self.assertForwarded(r)
                self.assertEqual(identity_seen(r), {}, name)


class ProxyRedirectAndCredentialsTest(h.DoormanTestCase):
    """A second doorman: unauthenticated -> redirect, forward_credentials false."""

    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack({
            "access": {"unauthenticated": {"redirect": "/login?next={path}"}},
            "forwarding": {"forward_credentials": False},
        })
        with h.setup_guard(cls):
            cls.port = cls.stack.port
            assert h.register(cls.port, "r@example.com", "password-1234").status == 201
            cls.token = h.login_bearer(cls.port, "r@example.com", "password-1234")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_unauthenticated_redirect(self):
        r = h.get(self.port, "/app/dashboard")
        self.assertIn(r.status, (302, 303, 307), r)
        location = r.header("Location") or ""
        self.assertTrue(location.startswith("/login?next="), r)
        self.assertEqual(urllib.parse.unquote(location[len("/login?next="):]), "/app/dashboard")

    def test_redirect_uses_normalised_path(self):
        # {path} is the path doorman decided on (DESIGN §4), not the raw target: a raw
        # "//evil.example/x" would hand the login page a protocol-relative `next`
        # (open redirect after login).
        for raw, expected in (("/public/../app/x", "/app/x"), ("//evil.example/x", "/evil.example/x")):
            with self.subTest(path=raw):
                r = h.get(self.port, raw)
                self.assertIn(r.status, (302, 303, 307), r)
                location = r.header("Location") or ""
                self.assertTrue(location.startswith("/login?next="), r)
                self.assertEqual(urllib.parse.unquote(location[len("/login?next="):]), expected)

    def test_below_level_is_still_403(self):
        r = h.get(self.port, "/admin/x", token=self.token)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.body, FORBIDDEN)

    def test_auth_api_unaffected_by_redirect(self):
        r = h.get(self.port, "/users/me")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.body, UNAUTHORIZED)

    def test_forward_credentials_false_strips_authorization_and_auth_cookie(self):
        cookie_value = h.login_cookie(self.port, "r@example.com", "password-1234")
        r = h.get(self.port, "/app/x", token=self.token,
                  cookie="theme=dark; fastapiusersauth=%s; lang=en" % cookie_value)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.echo_header_values(r, "Authorization"), [])
        cookies = h.echo_header_values(r, "Cookie")
        self.assertNotIn(cookie_value, json.dumps(r.json()["headers"]))
        self.assertNotIn(self.token, json.dumps(r.json()["headers"]))
        joined = "; ".join(cookies)
        self.assertIn("theme=dark", joined)
        self.assertIn("lang=en", joined)
        self.assertEqual(h.echo_header_values(r, "X-User-Email"), ["r@example.com"])

    def test_forward_credentials_false_cookie_only(self):
        cookie_value = h.login_cookie(self.port, "r@example.com", "password-1234")
        r = h.get(self.port, "/app/x", cookie="fastapiusersauth=" + cookie_value)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(cookie_value, json.dumps(r.json()["headers"]))


if __name__ == "__main__":
    h.main()
