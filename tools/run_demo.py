#!/usr/bin/python3
"""`make run`: doorman on :8000 in front of the bundled echo upstream on :8080.

Owns the demo: starts build/echo-upstream and `build/doorman serve --config
config/examples/run.yaml` (working directory: the repository, so the demo's
SQLite file lands there), waits until doorman answers, prints curl lines to
try, and then waits; Ctrl-C or SIGTERM stops both children and exits 0.
A busy port or a child that does not start is reported and exits 1.

--check runs the printed flow itself (register, login, proxied requests) and
exits 0 if every step answered as expected: a smoke test of the demo.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

UPSTREAM = ("127.0.0.1", 8080)
DOORMAN_PORT = 8000
ADMIN = ("127.0.0.1", 9901)
BASE = f"http://127.0.0.1:{DOORMAN_PORT}"
EMAIL = "demo@example.com"
PASSWORD = "demo-password-123"
COOKIE_JAR = "doorman-demo-cookies.txt"
START_TIMEOUT_S = 30


def log(msg):
    print(f"run_demo: {msg}", file=sys.stderr, flush=True)


def port_busy(host, port):
    """True if something already listens on host:port (we cannot bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR: a port in TIME_WAIT from a previous run is not "busy".
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def http_request(method, path, body=None, headers=None, port=DOORMAN_PORT, timeout=5):
    """One request on a fresh connection; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


class Children:
    """The two child processes; each in its own session so that a terminal's
    Ctrl-C reaches only this script, which then stops them in order."""

    def __init__(self):
        self.procs = []  # (name, Popen)

    def start(self, name, argv, **kwargs):
        proc = subprocess.Popen(argv, cwd=REPO, start_new_session=True, **kwargs)
        self.procs.append((name, proc))
        return proc

    def exited(self):
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self):
        # doorman first, so it drains its in-flight requests to a live upstream.
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    log(f"{name} did not stop within 10 s; killing it")
                    proc.kill()
                    proc.wait()


def start_upstream(children, binary):
    proc = children.start("echo-upstream", [binary, "--listen", f"{UPSTREAM[0]}:{UPSTREAM[1]}"],
                          stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def pump():  # watch for the ready line, then keep passing its stderr through
        for line in proc.stderr:
            sys.stderr.write(line)
            if "listening on" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
    return True


def wait_for_doorman(children):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if children.exited():
            return False
        try:
            http_request("GET", "/healthz", timeout=1)
            return True
        except OSError:
            time.sleep(0.1)
    return False


def print_instructions():
    form = f"username={EMAIL}&password={PASSWORD}"
    token_of = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    print(f"""
doorman is up: {BASE} -> echo upstream http://{UPSTREAM[0]}:{UPSTREAM[1]}
admin: http://{ADMIN[0]}:{ADMIN[1]}/healthz /readyz /metrics

Try it (paste into another shell):

  # register a user (a second run answers 400 REGISTER_USER_ALREADY_EXISTS: fine)
  curl -s -X POST {BASE}/auth/register -H 'Content-Type: application/json' \\
       -d '{{"email":"{EMAIL}","password":"{PASSWORD}"}}'; echo

  # log in with the JWT backend (form body) and keep the token
  TOKEN=$(curl -s -X POST {BASE}/auth/jwt/login -d '{form}' | {token_of}); echo "$TOKEN"

  # who am I
  curl -s {BASE}/users/me -H "Authorization: Bearer $TOKEN"; echo

  # a proxied request: the echo upstream shows the X-User-Id doorman added
  curl -s {BASE}/hello -H "Authorization: Bearer $TOKEN"; echo

  # the same without a token: 401 from doorman, the upstream never sees it
  curl -si {BASE}/hello

  # /public/ is anonymous
  curl -s {BASE}/public/x; echo

  # cookie backend (database tokens): log in, then send the cookie
  curl -s -c {COOKIE_JAR} -X POST {BASE}/auth/cookie/login -d '{form}' -o /dev/null -w '%{{http_code}}\\n'
  curl -s -b {COOKIE_JAR} {BASE}/hello; echo

Ctrl-C stops doorman and the echo upstream.
""", flush=True)


def run_check():
    """Runs the printed flow; returns a list of failures (empty = all good)."""
    failures = []

    def expect(what, cond, detail=""):
        print(f"  {'ok  ' if cond else 'FAIL'} {what}", flush=True)
        if not cond:
            failures.append(f"{what}: {detail}")

    status, _, body = http_request("POST", "/auth/register", json.dumps({"email": EMAIL, "password": PASSWORD}),
                                   {"Content-Type": "application/json"})
    expect("register answers 201 (or 400 if the user exists)", status in (201, 400), f"{status} {body!r}")
    form = urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD})
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = http_request("POST", "/auth/jwt/login", form, form_headers)
    token = json.loads(body).get("access_token", "") if status == 200 else ""
    expect("jwt login answers 200 with a token", bool(token), f"{status} {body!r}")
    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = http_request("GET", "/users/me", headers=auth)
    me = json.loads(body) if status == 200 else {}
    expect("GET /users/me answers the user", me.get("email") == EMAIL, f"{status} {body!r}")
    status, _, body = http_request("GET", "/hello", headers=auth)
    echoed = dict((k.lower(), v) for k, v in json.loads(body)["headers"]) if status == 200 else {}
    expect("proxied /hello carries X-User-Id", echoed.get("x-user-id") == me.get("id"), f"{status} {body!r}")
    status, _, body = http_request("GET", "/hello")
    expect("/hello without a token answers 401", status == 401, f"{status} {body!r}")
    status, _, body = http_request("GET", "/public/x")
    expect("/public/x is anonymous", status == 200, f"{status} {body!r}")
    status, headers, body = http_request("POST", "/auth/cookie/login", form, form_headers)
    cookie = next((v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"), "")
    expect("cookie login answers 204 with a cookie", status == 204 and cookie, f"{status} {headers!r}")
    status, _, body = http_request("GET", "/hello", headers={"Cookie": cookie})
    echoed = dict((k.lower(), v) for k, v in json.loads(body)["headers"]) if status == 200 else {}
    expect("proxied /hello with the cookie carries X-User-Id", echoed.get("x-user-id") == me.get("id"),
           f"{status} {body!r}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="build directory (relative to the repository)")
    parser.add_argument("--config", default=os.path.join("config", "examples", "run.yaml"))
    parser.add_argument("--check", action="store_true", help="run the demo flow, report, and exit")
    args = parser.parse_args()

    build = os.path.join(REPO, args.build)
    upstream_bin = os.path.join(build, "echo-upstream")
    doorman_bin = os.path.join(build, "doorman")
    for path in (upstream_bin, doorman_bin):
        if not os.access(path, os.X_OK):
            log(f"{path} is missing: build first (make build)")
            return 1

    busy = [f"{h}:{p}" for h, p in (UPSTREAM, ("0.0.0.0", DOORMAN_PORT), ADMIN) if port_busy(h, p)]
    if busy:
        log(f"port(s) busy: {', '.join(busy)}. Another process is listening there "
            f"(a previous `make run`?); stop it and try again.")
        return 1

    stop_requested = threading.Event()

    def on_signal(signum, _frame):
        stop_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children = Children()
    try:
        if not start_upstream(children, upstream_bin):
            log("echo-upstream did not start (see its message above)")
            return 1
        children.start("doorman", [doorman_bin, "serve", "--config", args.config])
        if not wait_for_doorman(children):
            gone = children.exited()
            log(f"doorman exited with status {gone[1]} (see its message above)" if gone
                else f"doorman did not answer on :{DOORMAN_PORT} within {START_TIMEOUT_S} s")
            return 1
        if args.check:
            failures = run_check()
            for f in failures:
                log(f"check failed: {f}")
            return 1 if failures else 0
        print_instructions()
        while not stop_requested.wait(0.5):
            gone = children.exited()
            if gone:
                log(f"{gone[0]} exited unexpectedly with status {gone[1]}; stopping")
                return 1
        log("stopping")
        return 0
    finally:
        children.stop()


if __name__ == "__main__":
    sys.exit(main())
