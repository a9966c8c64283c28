"""GET {auth}/openapi.json against the routes the real doorman answers
(api-contract.md §2, DESIGN.md §2, §5).

Each stack forwards every non-route path anonymously to the echo upstream, so
"forwarded" is visible as the echo's JSON. For each configuration:
- the document is 200 compact JSON, OpenAPI 3.x, every `$ref` resolves,
  operation ids are unique, one security scheme per backend;
- its (path, method) set is exactly the routes that configuration serves
  (login/logout per backend, register, reset, verify, users, openapi.json);
- every documented (path, method) is answered by doorman (never the echo), with a
  status the document lists for it; any other method on a documented path is a
  405 whose Allow lists documented methods only;
- each operation's success status and error statuses agree with the contract's
  route table, and the 400 examples carry the contract's error codes.
Configurations: the default routers; routers switched off (register, verify,
reset_password, users: their paths are absent from the document and forwarded
upstream, with any method); custom prefixes (the document moves with them and
the default paths are forwarded); one prefix shared by auth and users routes.
"""

import uuid

import harness as h

ANONYMOUS = {"access": {"default": "anonymous", "rules": []}}

# api-contract.md §2: success status and the errors a route may answer.
CONTRACT = {
    "login-bearer": (200, {400, 422}),
    "login-cookie": (204, {400, 422}),
    "logout": (204, {401, 403}),
    "register": (201, {400, 422}),
    "forgot-password": (202, {422}),
    "reset-password": (200, {400, 422}),
    "request-verify-token": (202, {422}),
    "verify": (200, {400, 422}),
    "me GET": (200, {401, 403}),
    "me PATCH": (200, {401, 403, 400, 422}),
    "id GET": (200, {401, 403, 404}),
    "id PATCH": (200, {401, 403, 404, 400, 422}),
    "id DELETE": (204, {401, 403, 404}),
    "openapi": (200, set()),
}

CODES_400 = {
    "login-bearer": {"LOGIN_BAD_CREDENTIALS", "LOGIN_USER_NOT_VERIFIED"},
    "login-cookie": {"LOGIN_BAD_CREDENTIALS", "LOGIN_USER_NOT_VERIFIED"},
    "register": {"REGISTER_USER_ALREADY_EXISTS", "REGISTER_INVALID_PASSWORD"},
    "reset-password": {"RESET_PASSWORD_BAD_TOKEN", "RESET_PASSWORD_INVALID_PASSWORD"},
    "verify": {"VERIFY_USER_BAD_TOKEN", "VERIFY_USER_ALREADY_VERIFIED"},
    "me PATCH": {"UPDATE_USER_EMAIL_ALREADY_EXISTS", "UPDATE_USER_INVALID_PASSWORD"},
    "id PATCH": {"UPDATE_USER_EMAIL_ALREADY_EXISTS", "UPDATE_USER_INVALID_PASSWORD"},
}

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def expected_routes(config):
    """{(path, METHOD): contract key} for what a configuration serves."""
    routes = config.get("routes", {})
    auth = routes.get("auth_prefix", "/auth")
    users = routes.get("users_prefix", "/users")
    out = {(auth + "/openapi.json", "GET"): "openapi"}
    for backend in config["auth"]["backends"]:
        kind = "login-bearer" if backend["transport"]["type"] == "bearer" else "login-cookie"
        out[(auth + "/" + backend["name"] + "/login", "POST")] = kind
        out[(auth + "/" + backend["name"] + "/logout", "POST")] = "logout"
    if routes.get("register", True):
        out[(auth + "/register", "POST")] = "register"
    if routes.get("reset_password", True):
        out[(auth + "/forgot-password", "POST")] = "forgot-password"
        out[(auth + "/reset-password", "POST")] = "reset-password"
    if routes.get("verify", True):
        out[(auth + "/request-verify-token", "POST")] = "request-verify-token"
        out[(auth + "/verify", "POST")] = "verify"
    if routes.get("users", True):
        out[(users + "/me", "GET")] = "me GET"
        out[(users + "/me", "PATCH")] = "me PATCH"
        for m in ("GET", "PATCH", "DELETE"):
            out[(users + "/{id}", m)] = "id " + m
    return out


def is_echo(resp):
    """True when the echo upstream answered (the request was forwarded)."""
    try:
        doc = resp.json()
    except ValueError:
        return False
    return isinstance(doc, dict) and "body_sha256" in doc and "method" in doc


def probe(port, method, path):
    """One request of `method` on `path` ({id} filled with a random UUID), a JSON body for POST/PATCH."""
    path = path.replace("{id}", str(uuid.uuid4()))
    if method in ("POST", "PATCH", "PUT"):
        return h.request(port, method, path, headers=[("Content-Type", "application/json")], body=b"{}")
    return h.request(port, method, path)


def template_matches(template, path):
    """Whether a documented path with {param} segments matches a concrete path."""
    t, p = template.split("/"), path.split("/")
    return len(t) == len(p) and all(a == b or (a.startswith("{") and a.endswith("}") and b) for a, b in zip(t, p))


def collect_refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                collect_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            collect_refs(v, out)
    return out


class OpenApiChecks(h.DoormanTestCase):
    """Shared checks; subclasses set `overrides` and the openapi path."""

    overrides = {}
    openapi_path = "/auth/openapi.json"

    @classmethod
    def setUpClass(cls):
        with h.setup_guard(cls):
            cls.stack = h.Stack(h.deep_merge(ANONYMOUS, cls.overrides))
        cls.port = cls.stack.port
        cls.routes = expected_routes(cls.stack.config)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def document(self):
        r = h.get(self.port, self.openapi_path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json", r)
        doc = r.json()
        self.assertEqual(r.body, h.compact(doc), "the document is compact JSON")
        return doc

    def operations(self, doc):
        return {(path, method.upper()): op for path, item in doc["paths"].items() for method, op in item.items()}

    def test_document_shape(self):
        doc = self.document()
        self.assertTrue(doc["openapi"].startswith("3."), doc["openapi"])
        self.assertIn("title", doc["info"])
        self.assertIn("version", doc["info"])
        schemas = doc["components"]["schemas"]
        for ref in collect_refs(doc, []):
            self.assertTrue(ref.startswith("#/components/schemas/"), ref)
            self.assertIn(ref.rsplit("/", 1)[1], schemas, ref)
        ops = self.operations(doc)
        ids = [op["operationId"] for op in ops.values()]
        self.assertEqual(len(ids), len(set(ids)), ids)
        schemes = doc["components"]["securitySchemes"]
        self.assertEqual(sorted(schemes), sorted(b["name"] for b in self.stack.config["auth"]["backends"]))
        for b in self.stack.config["auth"]["backends"]:
            if b["transport"]["type"] == "cookie":
                self.assertEqual(schemes[b["name"]], {"type": "apiKey", "in": "cookie",
                                                      "name": b["transport"]["cookie_name"]})
            else:
                self.assertEqual(schemes[b["name"]]["type"], "oauth2")

    def test_document_lists_exactly_the_served_routes(self):
        ops = self.operations(self.document())
        self.assertEqual(sorted(ops), sorted(self.routes))

    def test_every_documented_operation_is_answered_by_doorman(self):
        ops = self.operations(self.document())
        for (path, method), op in sorted(ops.items()):
            with self.subTest(route="%s %s" % (method, path)):
                r = probe(self.port, method, path)
                self.assertFalse(is_echo(r), "forwarded upstream: %r" % r)
                self.assertNotEqual(r.status, 405, r)
                self.assertIn(str(r.status), op["responses"], r)
                if r.status != 204:
                    self.assertEqual(r.header("Content-Type"), "application/json", r)

    def test_other_methods_on_documented_paths_are_405(self):
        ops = self.operations(self.document())
        by_path = {}
        for path, method in ops:
            by_path.setdefault(path, set()).add(method)
        for path, methods in sorted(by_path.items()):
            for method in METHODS:
                if method in methods:
                    continue
                if any(template_matches(t, path) for t, m in ops if m == method and t != path):
                    continue  # another route's: DELETE {users}/me is {users}/{id} with id "me" (§7)
                with self.subTest(route="%s %s" % (method, path)):
                    r = probe(self.port, method, path)
                    self.assertEqual(r.status, 405, r)
                    self.assertEqual(r.body, b'{"detail":"Method Not Allowed"}', r)
                    allow = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
                    self.assertTrue(allow and allow <= methods, r)

    def test_statuses_and_codes_agree_with_the_contract(self):
        ops = self.operations(self.document())
        for key, op in sorted(ops.items()):
            kind = self.routes[key]
            success, errors = CONTRACT[kind]
            with self.subTest(route=key, kind=kind):
                documented = {int(s) for s in op["responses"]}
                self.assertIn(success, documented)
                self.assertLessEqual(documented - {success}, errors)
                for status in (400, 422) if kind != "openapi" else ():
                    if status in errors:
                        self.assertIn(status, documented)
                if kind.startswith("id "):
                    self.assertLessEqual({401, 403, 404}, documented)
                if kind in CODES_400:
                    examples = op["responses"]["400"]["content"]["application/json"].get("examples", {})
                    self.assertEqual(set(examples), CODES_400[kind])
                    for code, example in examples.items():
                        detail = example["value"]["detail"]
                        self.assertEqual(detail["code"] if isinstance(detail, dict) else detail, code)
                if kind.startswith("id ") or kind.startswith("me ") or kind == "logout":
                    self.assertEqual([list(s) for s in op.get("security", [])],
                                     [[b["name"]] for b in self.stack.config["auth"]["backends"]])
                if "{id}" in key[0]:
                    self.assertEqual([p["name"] for p in op.get("parameters", [])], ["id"])


class DefaultRoutersTest(OpenApiChecks):
    def test_paths_next_to_routes_are_forwarded(self):
        for method, path in (("GET", "/auth/jwt/other"), ("POST", "/auth/verify/extra"),
                             ("GET", "/users/%s/posts" % uuid.uuid4()), ("GET", "/auth/openapi.yaml"),
                             ("GET", "/openapi.json")):
            with self.subTest(path=path):
                r = probe(self.port, method, path)
                self.assertTrue(is_echo(r), r)
                self.assertEqual((r.json()["method"], r.json()["path"]), (method, path))


class DisabledRoutersTest(OpenApiChecks):
    overrides = {"routes": {"register": False, "verify": False, "reset_password": False, "users": False}}

    def test_disabled_paths_are_forwarded_upstream(self):
        for path in ("/auth/register", "/auth/verify", "/auth/request-verify-token", "/auth/forgot-password",
                     "/auth/reset-password", "/users/me", "/users/%s" % uuid.uuid4(), "/users/me/"):
            for method in ("GET", "POST", "PATCH", "DELETE"):
                with self.subTest(route="%s %s" % (method, path)):
                    r = probe(self.port, method, path)
                    self.assertTrue(is_echo(r), r)
                    self.assertEqual((r.json()["method"], r.json()["path"]), (method, path))
        # the routers still on keep working
        r = h.post_json(self.port, "/auth/jwt/login", {})
        self.assertEqual(r.status, 422, r)
        self.assertFalse(is_echo(r))

    def test_disabled_routers_absent_from_the_document(self):
        doc = self.document()
        for path in doc["paths"]:
            self.assertFalse(path.startswith("/users"), path)
            for word in ("register", "verify", "password"):
                self.assertNotIn(word, path)


class CustomPrefixesTest(OpenApiChecks):
    openapi_path = "/api/auth/openapi.json"
    overrides = {"routes": {"auth_prefix": "/api/auth", "users_prefix": "/api/people", "verify": False}}

    def test_default_prefixes_are_forwarded(self):
        for method, path in (("GET", "/auth/openapi.json"), ("POST", "/auth/register"),
                             ("GET", "/users/me"), ("POST", "/api/auth/verify")):
            with self.subTest(path=path):
                r = probe(self.port, method, path)
                self.assertTrue(is_echo(r), r)
                self.assertEqual(r.json()["path"], path)

    def test_document_uses_the_prefixes(self):
        paths = set(self.document()["paths"])
        self.assertIn("/api/auth/register", paths)
        self.assertIn("/api/people/{id}", paths)
        self.assertIn("/api/people/me", paths)
        self.assertNotIn("/api/auth/verify", paths)
        for p in paths:
            self.assertTrue(p.startswith("/api/auth/") or p.startswith("/api/people/"), p)


class SharedPrefixTest(OpenApiChecks):
    """auth_prefix == users_prefix: {users}/{id} shares its segment with the auth routes."""

    openapi_path = "/api/openapi.json"
    overrides = {"routes": {"auth_prefix": "/api", "users_prefix": "/api"}}

    def test_auth_routes_win_for_their_method_id_route_for_others(self):
        self.assertEqual(h.post_json(self.port, "/api/register", {}).status, 422)
        self.assertEqual(self.document()["openapi"][:2], "3.")
        # GET /api/register is {users}/{id} with id "register": authentication first.
        r = h.get(self.port, "/api/register")
        self.assertEqual((r.status, r.body), (401, b'{"detail":"Unauthorized"}'), r)


del OpenApiChecks  # the base holds no configuration of its own: run only the subclasses

if __name__ == "__main__":
    h.main()
