"""Shared harness for doorman's integration tests (Python 3 stdlib only).

What it gives a test file:
- free ports, temp dirs, a config YAML writer (`write_config`, with deep-merge
  overrides, `DELETE` to drop a key) and a raw-YAML writer for bad configs;
- `EchoUpstream` and `Doorman` process wrappers: Popen with stdout/stderr
  captured to files, readiness with a deadline, always killed (tearDown and
  atexit), `logs()` to print on failure;
- a raw-socket HTTP/1.1 client (`Conn`) that sends exact bytes and parses
  responses: status, headers as an ordered list keeping duplicates, body by
  Content-Length, chunked encoding or close; one-shot helpers
  (`request`, `get`, `post_json`, `post_form`);
- auth helpers (`register`, `login_bearer`, `login_cookie`), a minimal
  WebSocket client (handshake + masked frame round trip) and `run_cli`;
- `DoormanTestCase`: a unittest base class that prints the doorman and
  upstream logs when a test fails.

Environment: DOORMAN_BIN, ECHO_UPSTREAM_BIN, DOORMAN_FIXTURES.
"""

import atexit
import base64
import copy
import hashlib
import http.server
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

# --------------------------------------------------------------------------
# environment


def _env_path(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("environment variable %s is not set (see tests/integration/harness.py)" % name)
    return value


def doorman_bin():
    return os.path.abspath(_env_path("DOORMAN_BIN"))


def echo_bin():
    return os.path.abspath(_env_path("ECHO_UPSTREAM_BIN"))


def fixtures_dir():
    return os.path.abspath(_env_path("DOORMAN_FIXTURES"))


def fixture_tokens():
    with open(os.path.join(fixtures_dir(), "fastapi-users-14", "tokens.json"), encoding="utf-8") as f:
        return json.load(f)


# --------------------------------------------------------------------------
# ports, temp dirs, cleanup

_live_processes = []
_temp_dirs = []
_port_lock = threading.Lock()
_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with _port_lock:
        for _ in range(50):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            finally:
                s.close()
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free port")


def make_temp_dir(prefix="doorman-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(d)
    return d


def _cleanup_all():
    for p in list(_live_processes):
        try:
            p.kill()
        except Exception:
            pass
    if not os.environ.get("DOORMAN_KEEP_TMP"):
        for d in _temp_dirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_all)


def wait_for_port(port, deadline_s=15.0, proc=None, host="127.0.0.1"):
    """Poll until a TCP connect to (host, port) succeeds; False on timeout or process exit."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def port_is_listening(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# YAML


class _Delete:
    def __repr__(self):
        return "DELETE"


DELETE = _Delete()


def deep_merge(base, overrides):
    """Returns base updated with overrides, recursively for dicts. DELETE removes a key."""
    out = copy.deepcopy(base)
    for k, v in (overrides or {}).items():
        if v is DELETE:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value, indent=0):
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 1)))
            elif isinstance(v, list) and v:
                lines.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 1)))
            elif isinstance(v, (dict, list)):
                lines.append("%s%s: %s\n" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                lines.append("%s%s: %s\n" % (pad, k, _yaml_scalar(v)))
        return "".join(lines)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 1)
                # put the first line after "- "
                first, _, rest = body.partition("\n")
                lines.append("%s- %s\n%s" % (pad, first.lstrip(), rest))
            else:
                lines.append("%s- %s\n" % (pad, _yaml_scalar(item) if not isinstance(item, (dict, list)) else ("{}" if isinstance(item, dict) else "[]")))
        return "".join(lines)
    return pad + _yaml_scalar(value) + "\n"


TEST_SECRET = "integration-test-secret-0123456789abcdef"
JWT_AUDIENCE = ["fastapi-users:auth"]


def base_config(tmpdir, port, admin_port, upstream_port, db_path=None):
    """The default config every test starts from: jwt (bearer) + cookie (database) backends."""
    db_path = db_path or os.path.join(tmpdir, "doorman.db")
    return {
        "server": {
            "listen": "127.0.0.1:%d" % port,
            "workers": 2,
            "admin_listen": "127.0.0.1:%d" % admin_port,
            "max_header_bytes": 16384,
            "max_body_bytes": 1048576,
            "header_timeout_seconds": 10,
            "idle_timeout_seconds": 60,
            "access_log": True,
        },
        "upstream": {
            "url": "http://127.0.0.1:%d" % upstream_port,
            "connect_timeout_ms": 1000,
            "response_timeout_seconds": 30,
        },
        "database": {"url": "sqlite:///" + os.path.abspath(db_path)},
        "secret": TEST_SECRET,
        "users": {"password_min_length": 8, "cache_ttl_ms": 0},
        "auth": {
            "backends": [
                {"name": "jwt", "transport": {"type": "bearer"},
                 "strategy": {"type": "jwt", "lifetime_seconds": 3600}},
                {"name": "cookie",
                 "transport": {"type": "cookie", "cookie_name": "fastapiusersauth", "cookie_secure": False},
                 "strategy": {"type": "database", "lifetime_seconds": 86400}},
            ]
        },
        "access": {
            "default": "authenticated",
            "rules": [
                {"path": "/healthz", "access": "anonymous"},
                {"prefix": "/public/", "access": "anonymous"},
                {"prefix": "/admin/", "access": "superuser"},
                {"prefix": "/denied/", "access": "deny"},
                {"prefix": "/verified/", "access": "verified"},
            ],
        },
    }


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_config(path, config):
    return write_file(path, to_yaml(config))


# --------------------------------------------------------------------------
# processes


def _tail(path, max_lines=80):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "(no file %s)" % path
    lines = data.decode("utf-8", "replace").splitlines()
    if len(lines) > max_lines:
        lines = ["... (%d lines skipped)" % (len(lines) - max_lines)] + lines[-max_lines:]
    return "\n".join(lines)


class _Process:
    name = "process"

    def __init__(self, argv, workdir, name, env=None):
        self.name = name
        self.stdout_path = os.path.join(workdir, name + ".stdout.log")
        self.stderr_path = os.path.join(workdir, name + ".stderr.log")
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                     env=env, cwd=workdir)
        _live_processes.append(self.proc)

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_text(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def logs(self):
        return "----- %s stderr -----\n%s\n----- %s stdout -----\n%s\n" % (
            self.name, _tail(self.stderr_path), self.name, _tail(self.stdout_path, 30))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=5.0):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for fh in (self._out, self._err):
            try:
                fh.close()
            except Exception:
                pass
        if self.proc in _live_processes:
            _live_processes.remove(self.proc)


class EchoUpstream(_Process):
    def __init__(self, workdir, port=None, name="echo"):
        self.port = port or free_port()
        super().__init__([echo_bin(), "--listen", "127.0.0.1:%d" % self.port], workdir, name)
        if not wait_for_port(self.port, 10.0, self.proc):
            logs = self.logs()
            self.stop()
            raise RuntimeError("echo upstream did not start on %d\n%s" % (self.port, logs))


class Doorman(_Process):
    """`doorman serve --config PATH`, ready once its port accepts connections."""

    def __init__(self, workdir, config, name="doorman", wait=True, extra_env=None):
        self.workdir = workdir
        self.config = config
        self.config_path = write_config(os.path.join(workdir, name + ".yaml"), config)
        self.port = int(config["server"]["listen"].rsplit(":", 1)[1])
        admin = config["server"].get("admin_listen")
        self.admin_port = int(admin.rsplit(":", 1)[1]) if admin else None
        env = dict(os.environ)
        env.update(extra_env or {})
        super().__init__([doorman_bin(), "serve", "--config", self.config_path], workdir, name, env=env)
        if wait:
            self.wait_ready()

    def wait_ready(self, deadline_s=20.0):
        if not wait_for_port(self.port, deadline_s, self.proc):
            logs = self.logs()
            self.stop()
            raise RuntimeError("doorman did not become ready on port %d (exit %r)\n%s"
                               % (self.port, self.proc.returncode, logs))
        # the admin listener may open a moment later
        if self.admin_port:
            wait_for_port(self.admin_port, 5.0, self.proc)


class Stack:
    """An echo upstream + doorman pair in a temp dir, built from base_config + overrides."""

    def __init__(self, overrides=None, db_path=None, start_upstream=True, name="doorman", extra_env=None):
        self.tmp = make_temp_dir()
        self.upstream = None
        self.db_path = db_path or os.path.join(self.tmp, "doorman.db")
        # Ports are picked free but not reserved: a parallel test file may grab one
        # first. Retry with fresh ports when a process reports an address in use.
        for attempt in range(3):
            self.upstream_port = free_port()
            self.port = free_port()
            self.admin_port = free_port()
            try:
                if start_upstream:
                    self.upstream = EchoUpstream(self.tmp, self.upstream_port)
                self.config = deep_merge(
                    base_config(self.tmp, self.port, self.admin_port, self.upstream_port, self.db_path),
                    overrides or {})
                self.doorman = Doorman(self.tmp, self.config, name=name, extra_env=extra_env)
                break
            except RuntimeError as e:
                if self.upstream:
                    self.upstream.stop()
                    self.upstream = None
                if attempt == 2 or "in use" not in str(e).lower():
                    raise
        self.config_path = self.doorman.config_path

    def logs(self):
        out = self.doorman.logs()
        if self.upstream:
            out += self.upstream.logs()
        return out

    def stop(self):
        self.doorman.stop()
        if self.upstream:
            self.upstream.stop()

    def cli(self, *args, **kw):
        return run_cli(list(args), config=self.config_path, **kw)


def run_cli(args, config=None, input=None, timeout=60):
    """Runs `doorman ARGS [--config CONFIG]`; returns CompletedProcess with text stdout/stderr."""
    argv = [doorman_bin()] + list(args)
    if config is not None:
        argv += ["--config", config]
    return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------
# raw HTTP/1.1 client


class Response:
    def __init__(self, status, reason, headers, body, raw_head=b""):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), order and duplicates kept
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        body = self.body[:300]
        return "<Response %d %r headers=%r body=%r>" % (self.status, self.reason, self.headers, body)


class ConnectionClosed(Exception):
    pass


class Conn:
    """One client TCP connection; send exact bytes or whole requests, read responses."""

    def __init__(self, port, host="127.0.0.1", timeout=15.0):
        self.port = port
        self.host = host
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n=262144):
        chunk = self.sock.recv(n)
        if not chunk:
            raise ConnectionClosed("connection closed by peer")
        self.buf += chunk

    def _read_until(self, marker, limit=1 << 20):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[: i + len(marker)])
                del self.buf[: i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (marker, limit))
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _read_to_close(self):
        while True:
            try:
                self._fill()
            except ConnectionClosed:
                break
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def read_response(self, method="GET", sink=None):
        """Reads one response. `sink(bytes)` receives body chunks instead of storing them."""
        while True:
            head = self._read_until(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            status_line = lines[0].decode("latin-1")
            parts = status_line.split(" ", 2)
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers = []
            for line in lines[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                headers.append((name, value.strip(" \t")))
            resp = Response(status, reason, headers, b"", head)
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue etc.
            break
        if status in (101, 204, 304) or 100 <= status < 200 or method.upper() == "HEAD":
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        body = bytearray()

        def emit(b):
            if sink:
                sink(b)
            else:
                body.extend(b)

        if "chunked" in te:
            while True:
                size_line = self._read_until(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers until empty line
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                remaining = size
                while remaining:
                    if not self.buf:
                        self._fill()
                    take = min(remaining, len(self.buf))
                    emit(bytes(self.buf[:take]))
                    del self.buf[:take]
                    remaining -= take
                self._read_exact(2)
        elif resp.header("Content-Length") is not None:
            remaining = int(resp.header("Content-Length"))
            while remaining:
                if not self.buf:
                    self._fill()
                take = min(remaining, len(self.buf))
                emit(bytes(self.buf[:take]))
                del self.buf[:take]
                remaining -= take
        else:
            emit(self._read_to_close())
        resp.body = bytes(body)
        return resp

    def request(self, method, path, headers=None, body=None, keep_alive=True, host=True, sink=None):
        """Sends one request built from the arguments; returns the Response.

        headers: list of (name, value) or dict, sent in order as given.
        body: bytes/str; Content-Length is added unless a Content-Length or
        Transfer-Encoding header is given.
        """
        self.send(build_request(method, path, headers, body, keep_alive=keep_alive,
                                host=("127.0.0.1:%d" % self.port) if host is True else host))
        return self.read_response(method, sink=sink)

    def is_closed(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within `timeout`; any data received is kept in buf."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk


def build_request(method, path, headers=None, body=None, keep_alive=True, host="127.0.0.1"):
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    if isinstance(body, str):
        body = body.encode("utf-8")
    names = {k.lower() for k, _ in headers}
    out = ["%s %s HTTP/1.1" % (method, path)]
    if host and "host" not in names:
        out.append("Host: %s" % host)
    for k, v in headers:
        out.append("%s: %s" % (k, v))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        out.append("Content-Length: %d" % len(body))
    if not keep_alive and "connection" not in names:
        out.append("Connection: close")
    data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    if body is not None:
        data += body
    return data


def request(port, method, path, headers=None, body=None, timeout=15.0):
    """One request on a fresh connection (Connection: close)."""
    with Conn(port, timeout=timeout) as c:
        return c.request(method, path, headers=headers, body=body, keep_alive=False)


def _auth_headers(headers, token=None, cookie=None):
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    if token:
        headers.append(("Authorization", "Bearer " + token))
    if cookie:
        headers.append(("Cookie", cookie))
    return headers


def get(port, path, headers=None, token=None, cookie=None, conn=None):
    h = _auth_headers(headers, token, cookie)
    if conn is not None:
        return conn.request("GET", path, headers=h)
    return request(port, "GET", path, headers=h)


def post_json(port, path, obj, headers=None, token=None, cookie=None, conn=None, method="POST"):
    h = _auth_headers(headers, token, cookie) + [("Content-Type", "application/json")]
    body = json.dumps(obj).encode("utf-8")
    if conn is not None:
        return conn.request(method, path, headers=h, body=body)
    return request(port, method, path, headers=h, body=body)


def patch_json(port, path, obj, **kw):
    return post_json(port, path, obj, method="PATCH", **kw)


def post_form(port, path, fields, headers=None, token=None, cookie=None, conn=None):
    h = _auth_headers(headers, token, cookie) + [("Content-Type", "application/x-www-form-urlencoded")]
    body = urllib.parse.urlencode(fields).encode("ascii")
    if conn is not None:
        return conn.request("POST", path, headers=h, body=body)
    return request(port, "POST", path, headers=h, body=body)


def compact(obj):
    """JSON as fastapi-users writes it: compact, non-ASCII unescaped."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------
# auth helpers


def register(port, email, password, **extra):
    body = {"email": email, "password": password}
    body.update(extra)
    return post_json(port, "/auth/register", body)


def login(port, email, password, backend="jwt"):
    return post_form(port, "/auth/%s/login" % backend, {"username": email, "password": password})


def login_bearer(port, email, password, backend="jwt"):
    r = login(port, email, password, backend)
    if r.status != 200:
        raise AssertionError("login of %s failed: %r" % (email, r))
    return r.json()["access_token"]


def login_cookie(port, email, password, backend="cookie", cookie_name="fastapiusersauth"):
    r = login(port, email, password, backend)
    if r.status != 204:
        raise AssertionError("cookie login of %s failed: %r" % (email, r))
    sc = r.header("Set-Cookie") or ""
    first = sc.split(";", 1)[0]
    name, _, value = first.partition("=")
    if name != cookie_name:
        raise AssertionError("unexpected Set-Cookie %r" % sc)
    return value


def echo_headers(resp):
    """The request headers the echo upstream saw, as a list of (name, value)."""
    return [(h[0], h[1]) for h in resp.json()["headers"]]


def echo_header_values(resp, name):
    n = name.lower()
    return [v for k, v in echo_headers(resp) if k.lower() == n]


def fold(name):
    return name.lower().replace("_", "-")


# --------------------------------------------------------------------------
# WebSocket (client side, RFC 6455)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept_for(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")


def ws_handshake(conn, path, headers=None):
    """Sends the upgrade request; returns (Response, key)."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    h = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
    h += list(headers or [])
    conn.send(build_request("GET", path, h, None, host="127.0.0.1:%d" % conn.port))
    resp = conn.read_response("GET")
    return resp, key


def ws_frame(payload, opcode=0x1, fin=True, mask=True):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def ws_read_frame(conn):
    """Returns (opcode, payload) of one frame from the server."""
    h = conn._read_exact(2)
    opcode = h[0] & 0x0F
    masked = bool(h[1] & 0x80)
    n = h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(conn._read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(conn._read_exact(8), "big")
    key = conn._read_exact(4) if masked else None
    payload = conn._read_exact(n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return opcode, payload


# --------------------------------------------------------------------------
# unittest base


class DoormanTestCase(unittest.TestCase):
    """Prints the logs of `self.stack` (or the class's `stack`) when a test fails."""

    maxDiff = None

    # ---- set-up steps every suite repeats

    def register_user(self, port, email, password):
        """Registers over HTTP, asserting the 201; returns the user object as a dict."""
        r = register(port, email, password)
        self.assertEqual(r.status, 201, r)
        return r.json()

    # ---- assertions on doorman's answers (api-contract.md §1, §9)

    def assertJson(self, resp, status, body):
        """Status, exact body bytes and Content-Type of a JSON answer."""
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.body, body, resp)
        self.assertEqual(resp.header("Content-Type"), "application/json", resp)

    def assert422(self, resp):
        """A FastAPI 422: a list of items whose keys start type, loc, msg and never
        include pydantic's url; returns the items."""
        self.assertEqual(resp.status, 422, resp)
        self.assertEqual(resp.header("Content-Type"), "application/json", resp)
        detail = resp.json()["detail"]
        self.assertIsInstance(detail, list, resp)
        for item in detail:
            self.assertEqual(list(item.keys())[:3], ["type", "loc", "msg"], item)
            self.assertNotIn("url", item)
        return detail

    def assert422_items(self, resp):
        """assert422, returning the (type, loc) of each item."""
        return [(d["type"], d["loc"]) for d in self.assert422(resp)]

    def _log_sources(self):
        out = []
        for attr in ("stack", "stack2"):
            s = getattr(self, attr, None)
            if s is not None:
                out.append(s)
        return out + list(getattr(self, "_extra_log_sources", []))

    def _this_test_failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        for test, _ in list(getattr(result, "errors", [])) + list(getattr(result, "failures", [])):
            if test is self or getattr(test, "test_case", None) is self:
                return True
        return False

    def tearDown(self):
        if self._this_test_failed():
            for s in self._log_sources():
                try:
                    sys.stderr.write("\n=== logs for %s ===\n%s\n" % (self.id(), s.logs()))
                except Exception as e:  # pragma: no cover
                    sys.stderr.write("(could not read logs: %s)\n" % e)
        super().tearDown()


class setup_guard:
    """`with setup_guard(cls):` in setUpClass: on an exception, print cls.stack's logs and stop it."""

    def __init__(self, owner):
        self.owner = owner

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            s = getattr(self.owner, "stack", None)
            if s is not None:
                try:
                    sys.stderr.write("\n=== logs (setUpClass failed) ===\n%s\n" % s.logs())
                finally:
                    s.stop()
        return False


def proc_stat_fields(pid):
    """/proc/PID/stat after the command name: fields[0] is stat(5)'s field 3 (state)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid):
    """CPU time (user + system) the process has used so far."""
    fields = proc_stat_fields(pid)
    # utime and stime, fields 14 and 15 of stat(5)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def uuid_like(s):
    import uuid
    try:
        return str(uuid.UUID(s)) == s
    except (ValueError, TypeError):
        return False


def main():
    unittest.main(verbosity=2)


# --------------------------------------------------------------------------
# webhook receiver (doorman's events)


class HookReceiver:
    """An HTTP/1.1 webhook receiver in a thread that records every POST.
    `push()` scripts what to do with the next requests ("ok", "500", "hang");
    once the script is empty every request gets 200."""

    def __init__(self, path="/_doorman/events"):
        self.path = path
        self.lock = threading.Lock()
        # dicts: path, headers (lower-case names), body (bytes), doc (parsed or None), status
        self.events = []
        self.script = []
        self.release = threading.Event()  # set at close: hung handlers return
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                with receiver.lock:
                    action = receiver.script.pop(0) if receiver.script else "ok"
                    record = {"path": self.path, "body": body, "doc": doc, "status": None,
                              "headers": {k.lower(): v for k, v in self.headers.items()}}
                    receiver.events.append(record)
                if action == "hang":
                    receiver.release.wait(10)
                    self.close_connection = True
                    return
                status = 500 if action == "500" else 200
                with receiver.lock:
                    record["status"] = status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, self.path)

    def push(self, *actions):
        with self.lock:
            self.script.extend(actions)

    def snapshot(self):
        with self.lock:
            return [dict(e) for e in self.events]

    def for_user(self, email, answered=None):
        """Requests about the user with `email`, oldest first (optionally only those answered `answered`)."""
        return [e for e in self.snapshot() if e["doc"] and e["doc"].get("user", {}).get("email") == email
                and (answered is None or e["status"] == answered)]

    def wait_for(self, email, name, answered=200, count=1, timeout=10.0):
        """Waits for `count` events `name` about the user with `email`."""
        return self._wait(lambda: [e for e in self.for_user(email, answered) if e["doc"]["event"] == name],
                          count, timeout, "%s event for %s" % (name, email))

    def about(self, user_id, name=None):
        """Events about the user `user_id` (optionally only those named `name`), oldest first."""
        return [e for e in self.snapshot() if e["doc"] and e["doc"].get("user", {}).get("id") == user_id
                and (name is None or e["doc"].get("event") == name)]

    def wait(self, user_id, name, count=1, timeout=10.0):
        """Waits for `count` events `name` about the user `user_id`."""
        return self._wait(lambda: self.about(user_id, name), count, timeout, "%s event for %s" % (name, user_id))

    def all_tokens(self):
        return [e["doc"].get("token") for e in self.snapshot() if e["doc"] and "token" in e["doc"]]

    def _wait(self, find, count, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = find()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError("no %s within %.0f s; received: %r"
                             % (what, timeout, [e["doc"] or e["body"] for e in self.snapshot()]))

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------
# test users and their rows

_email_counter = [0]
_email_counter_lock = threading.Lock()


def unique_email(tag):
    """A fresh address per call and process, so test cases never collide."""
    with _email_counter_lock:
        _email_counter[0] += 1
        n = _email_counter[0]
    return "%s%d-%d@example.com" % (tag, n, os.getpid())


def user_row(db_path, user_id):
    """(email, hashed_password, is_active, is_superuser, is_verified) of a SQLite row, or None."""

    con = sqlite3.connect(db_path, timeout=10)
    try:
        return con.execute('SELECT email, hashed_password, is_active, is_superuser, is_verified '
                           'FROM "user" WHERE id = ?', (user_id,)).fetchone()
    finally:
        con.close()
