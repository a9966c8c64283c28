#!/usr/bin/python3
"""`make bench`: doorman against its peers, on loopback, interleaved.

Owns the load benchmark (DESIGN.md §12). Starts, on free loopback ports in a
temp dir: the bundled echo upstream (2 threads); nginx proxy_pass to it (no
auth); HAProxy 2.6 verifying the HS256 JWT itself (jwt_verify, no user
store); and doorman (2 workers, no access log) with a JWT, and, as separate
instances, a database token, a Redis token, and a JWT with busy polling. Every target gets the same
bearer token style request; wrk runs against each in round-robin order so
that a noisy neighbour hurts all targets alike. Prints req/s and latency per
target and doorman's ratios to the others, plus doorman's idle RSS and its
RSS growth while it streams a 100 MB upload, and its proxied p99 during a
login storm, next to a control: the same load beside CPU burners that are not
doorman's, placed as its hash helper process is.

A benchmark reports: slow numbers never fail it. It exits 1 only if a target
could not start or answered its first request wrongly. Every process it
started is stopped at the end, whatever happens.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_TARGETS = ["upstream", "nginx", "haproxy", "doorman", "doorman-db", "doorman-redis", "doorman-busypoll"]
# doorman targets: (token strategy, server.busy_poll_us)
DOORMAN_TARGETS = {"doorman": ("jwt", 0), "doorman-db": ("database", 0), "doorman-redis": ("redis", 0),
                   "doorman-busypoll": ("jwt", 50)}
EMAIL = "bench@example.com"
PASSWORD = "bench-password-123"
UPLOAD_BYTES = 100 * 1000 * 1000
START_TIMEOUT_S = 30


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class StartError(Exception):
    """A target could not be started or answered its first request wrongly."""


def not_listening(proc, port, timeout):
    """None once something accepts on 127.0.0.1:port; otherwise why not (`proc` exited, or time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return None
        except OSError:
            time.sleep(0.05)
    return f"did not listen on :{port} within {timeout} s"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """Every child we start, each in its own process group (nginx forks
    workers), with its output in a log file under the temp dir."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv, stdin=None):
        log_path = os.path.join(self.tmp, f"{name}.log")
        out = open(log_path, "wb")
        proc = subprocess.Popen(argv, cwd=self.tmp, stdout=out, stderr=subprocess.STDOUT,
                                stdin=stdin or subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.procs.append((name, proc, log_path))
        return proc

    def log_of(self, name):
        return next((p for n, _, p in self.procs if n == name), "")

    def wait_listening(self, name, proc, port):
        why = not_listening(proc, port, START_TIMEOUT_S)
        if why:
            raise StartError(f"{name} {why}:\n{tail(self.log_of(name))}")

    def stop_all(self):
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


# ---------------------------------------------------------------- targets

def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def start_upstream(procs, build, port):
    proc = procs.start("upstream", [os.path.join(build, "echo-upstream"), "--listen", f"127.0.0.1:{port}",
                                    "--threads", "2"])
    procs.wait_listening("upstream", proc, port)
    return proc


def start_nginx(procs, tmp, port, upstream_port):
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    # Running as root, nginx needs `user`; as anyone else it ignores it with a warning.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = write(os.path.join(prefix, "nginx.conf"), f"""
{user}
worker_processes 2;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream echo {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
""")
    proc = procs.start("nginx", ["nginx", "-c", conf, "-p", prefix, "-e", os.path.join(prefix, "logs", "error.log")])
    procs.wait_listening("nginx", proc, port)


def start_haproxy(procs, tmp, port, upstream_port, secret):
    # HAProxy checks what it can statelessly: algorithm, signature, expiry,
    # audience; then passes the user id on, as doorman does (without a user store).
    cfg = write(os.path.join(tmp, "haproxy.cfg"), f"""
global
    nbthread 2
    maxconn 4000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    http-reuse always

frontend bench
    bind 127.0.0.1:{port}
    http-request set-var(txn.bearer) http_auth_bearer
    http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('$.alg')
    http-request deny unless {{ var(txn.jwt_alg) -m str HS256 }}
    http-request deny unless {{ var(txn.bearer),jwt_verify(txn.jwt_alg,"{secret}") -m int 1 }}
    http-request set-var(txn.now) date()
    http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
    http-request deny if {{ var(txn.exp),sub(txn.now) -m int lt 0 }}
    http-request deny unless {{ var(txn.bearer),jwt_payload_query('$.aud[0]') -m str fastapi-users:auth }}
    http-request set-header X-User-Id %[var(txn.bearer),jwt_payload_query('$.sub')]
    default_backend echo

backend echo
    server echo 127.0.0.1:{upstream_port}
""")
    proc = procs.start("haproxy", ["haproxy", "-f", cfg, "-db"])
    procs.wait_listening("haproxy", proc, port)


def doorman_config(tmp, name, port, upstream_port, db_path, secret, strategy, busy_poll_us, redis_port):
    strategies = {
        "jwt": "{type: jwt, lifetime_seconds: 3600}",
        "database": "{type: database, lifetime_seconds: 86400}",
        "redis": f'{{type: redis, url: "redis://127.0.0.1:{redis_port}/0", lifetime_seconds: 3600}}',
    }
    return write(os.path.join(tmp, f"{name}.yaml"), f"""
server:
  listen: "127.0.0.1:{port}"
  workers: 2
  access_log: false
  busy_poll_us: {busy_poll_us}
upstream:
  url: "http://127.0.0.1:{upstream_port}"
database:
  url: "sqlite:///{db_path}"
secret: "{secret}"
auth:
  backends:
    - name: bench
      transport: {{type: bearer}}
      strategy: {strategies[strategy]}
access:
  default: authenticated
""")


def run_cli(build, args, stdin_text=None):
    return subprocess.run([os.path.join(build, "doorman")] + args, input=stdin_text, capture_output=True,
                          text=True, timeout=60)


def start_doorman(procs, build, tmp, name, port, upstream_port, db_path, secret, redis_port, user_ready):
    strategy, busy_poll_us = DOORMAN_TARGETS[name]
    cfg = doorman_config(tmp, name, port, upstream_port, db_path, secret, strategy, busy_poll_us, redis_port)
    if not user_ready:
        # All doorman instances share one SQLite file: create the schema and the user once.
        r = run_cli(build, ["migrate", "--config", cfg])
        if r.returncode != 0:
            raise StartError(f"doorman migrate failed ({r.returncode}): {r.stderr.strip()}")
        r = run_cli(build, ["users", "create", "--config", cfg, "--email", EMAIL, "--password-stdin"], PASSWORD + "\n")
        if r.returncode != 0:
            raise StartError(f"doorman users create failed ({r.returncode}): {r.stderr.strip()}")
    proc = procs.start(name, [os.path.join(build, "doorman"), "serve", "--config", cfg])
    procs.wait_listening(name, proc, port)
    form = urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD})
    status, body = request(port, "POST", "/auth/bench/login", body=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise StartError(f"{name}: login answered {status}: {body[:300]!r}")
    return proc, json.loads(body)["access_token"]


def start_redis(procs, tmp, port):
    proc = procs.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", tmp])
    procs.wait_listening("redis", proc, port)


# ---------------------------------------------------------------- helpers

def request(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(secret, sub):
    """An access token as fastapi-users (and doorman) issue it: used when no
    doorman runs, so HAProxy still has a valid token to check."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": sub, "aud": ["fastapi-users:auth"], "exp": int(time.time()) + 3600}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())}"


def jwt_sub(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def check_target(name, port, token, expect_user):
    """The first request must reach the upstream (and carry X-User-Id where
    the target authenticates): otherwise the numbers would measure an error page."""
    status, body = request(port, "GET", "/bench", headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise StartError(f"{name}: GET /bench answered {status}: {body[:300]!r}")
    headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
    if expect_user and not headers.get("x-user-id"):
        raise StartError(f"{name}: the upstream saw no X-User-Id: {body[:300]!r}")
    if expect_user:
        # And a forged token must be refused, or the target is not checking anything.
        head, _, sig = token.rpartition(".")
        forged = f"{head}.{'A' if sig[:1] != 'A' else 'B'}{sig[1:]}"
        status, body = request(port, "GET", "/bench", headers={"Authorization": f"Bearer {forged}"})
        if status not in (401, 403):
            raise StartError(f"{name}: a forged token answered {status}, not 401/403")


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_rss_kib(pid):
    return status_kib(pid, "VmRSS")


def hash_helper_pid(doorman_pid):
    """doorman's password hashing child (`doorman-hash`), or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                name, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        if int(rest.split()[1]) == doorman_pid and name.endswith("(doorman-hash"):
            return int(entry)
    return None


def measure_upload(pid, port, token):
    """Streams UPLOAD_BYTES through doorman in 64 KiB pieces while sampling its
    RSS; returns (idle KiB, peak KiB, MB/s, ok)."""
    idle = vm_rss_kib(pid)
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], vm_rss_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    chunk = b"u" * 65536
    started = time.monotonic()
    ok = False
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.putrequest("POST", "/bench/upload")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(UPLOAD_BYTES))
        conn.endheaders()
        left = UPLOAD_BYTES
        while left:
            piece = chunk[:min(left, len(chunk))]
            conn.send(piece)
            left -= len(piece)
        resp = conn.getresponse()
        body = resp.read()
        ok = resp.status == 200 and json.loads(body).get("body_size") == UPLOAD_BYTES
        conn.close()
    except (OSError, ValueError, http.client.HTTPException) as e:
        log(f"upload through doorman failed: {e}")
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    return idle, peak[0], UPLOAD_BYTES / 1e6 / elapsed, ok


# ---------------------------------------------------------------- wrk

UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1e6}


def parse_latency_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * UNITS_US[m.group(2)] if m else None


def parse_wrk(out):
    result = {"rps": None, "p50_us": None, "p99_us": None, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        result["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            result[key] = parse_latency_us(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        result["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        result["errors"] += sum(int(x) for x in m.groups())
    return result


def run_wrk(port, token, connections, duration):
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}/bench"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    return parse_wrk(r.stdout)


def measure_login_storm(port, token, connections, duration, logins_in_flight=32):
    """Proxied p99 at `connections` with and without `logins_in_flight` password
    logins running at the same time (Argon2 on doorman's blocking pool): the
    storm must not raise proxied p99 by more than 2x (a target, reported only)."""
    quiet = run_wrk(port, token, connections, duration)
    stop = threading.Event()
    finished = []  # monotonic time of each successful login
    form = urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD})

    def login_loop():
        while not stop.is_set():
            try:
                status, _ = request(port, "POST", "/auth/bench/login", body=form,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
                if status == 200:
                    finished.append(time.monotonic())
            except OSError:
                pass

    workers = [threading.Thread(target=login_loop, daemon=True) for _ in range(logins_in_flight)]
    for w in workers:
        w.start()
    time.sleep(0.5)  # let the storm build up before measuring
    started = time.monotonic()
    stormy = run_wrk(port, token, connections, duration)
    ended = time.monotonic()
    stop.set()
    for w in workers:
        w.join(timeout=35)
    return {"quiet": quiet, "storm": stormy,
            "logins_during": sum(1 for t in finished if started <= t <= ended),
            "logins_after": sum(1 for t in finished if t > ended),
            "idle_burners": run_wrk_beside_idle_burners(port, token, connections, duration)}


# The control for the login storm: one CPU-bound process per core, none of them
# doorman's, placed as doorman's hash helper places itself (proxy/hash_helper.hpp):
# a session of its own, its autogroup at nice 19, SCHED_IDLE. What they do to
# proxied p99 is what this machine's scheduler does to it with background work
# arranged that way: the storm cannot do better with hashes running.
IDLE_BURNER = ("import os\n"
               "try:\n"
               "    with open('/proc/self/autogroup', 'w') as f:\n"
               "        f.write('19')\n"
               "except OSError:\n"
               "    pass\n"
               "os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
               "while True:\n"
               "    pass\n")


def run_wrk_beside_idle_burners(port, token, connections, duration):
    burners = [subprocess.Popen([sys.executable, "-c", IDLE_BURNER], start_new_session=True)
               for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.5)
        return run_wrk(port, token, connections, duration)
    finally:
        for b in burners:
            b.kill()
            b.wait()


# ---------------------------------------------------------------- report

def fmt_us(us):
    if us is None:
        return "-"
    return f"{us:.0f}us" if us < 1000 else f"{us / 1000:.2f}ms"


def fmt_rps(rps):
    return "-" if rps is None else f"{rps:,.0f}"


def best(runs, key, pick):
    values = [r for r in runs if r[key] is not None]
    return pick(values, key=lambda r: r[key]) if values else None


def summarize(results):
    """Per target: the round with the most req/s at 32 connections (its p50 and
    p99 with it), and the lowest p50 at 1 connection."""
    summary = {}
    for name, runs in results.items():
        top = best(runs["c32"], "rps", max)
        low = best(runs["c1"], "p50_us", min)
        summary[name] = {
            "rps": top["rps"] if top else None,
            "p50_us": top["p50_us"] if top else None,
            "p99_us": top["p99_us"] if top else None,
            "p50_c1_us": low["p50_us"] if low else None,
            "errors": sum(r["errors"] for r in runs["c32"] + runs["c1"]),
        }
    return summary


def print_report(summary, memory, storm=None):
    print()
    print(f"{'target':<18}{'req/s@32':>12}{'p50@32':>10}{'p99@32':>10}{'p50@1':>10}{'errors':>8}")
    for name, s in summary.items():
        print(f"{name:<18}{fmt_rps(s['rps']):>12}{fmt_us(s['p50_us']):>10}{fmt_us(s['p99_us']):>10}"
              f"{fmt_us(s['p50_c1_us']):>10}{s['errors']:>8}")
    print()
    for d in (t for t in summary if t in DOORMAN_TARGETS):
        ds = summary[d]
        for peer in ("nginx", "haproxy", "upstream"):
            ps = summary.get(peer)
            if ps and ps["rps"] and ds["rps"]:
                print(f"{d} req/s vs {peer}: {ds['rps'] / ps['rps']:.2f}x")
        up = summary.get("upstream")
        if up and up["p50_c1_us"] is not None and ds["p50_c1_us"] is not None:
            print(f"{d} added p50 latency at 1 connection: {ds['p50_c1_us'] - up['p50_c1_us']:+.0f} us")
        print()
    if any(s["errors"] for s in summary.values()):
        print("note: non-zero errors (non-2xx answers or socket errors) make that target's numbers suspect")
    if memory:
        print(f"doorman idle RSS: {memory['idle_kib'] / 1024:.1f} MiB")
        if "hash_helper_kib" in memory:
            print(f"its hash helper process, idle: RSS {memory['hash_helper_kib'] / 1024:.1f} MiB, of which "
                  f"{memory['hash_helper_anon_kib'] / 1024:.1f} MiB its own (anonymous; the rest is the "
                  f"binary's pages, shared with doorman)")
        print(f"doorman RSS during a {UPLOAD_BYTES // 1_000_000} MB streamed upload: peak "
              f"{memory['peak_kib'] / 1024:.1f} MiB (+{(memory['peak_kib'] - memory['idle_kib']) / 1024:.1f} MiB), "
              f"{memory['mb_per_s']:.0f} MB/s{'' if memory['ok'] else ' (upload FAILED)'}")
    if storm:
        q, st = storm["quiet"], storm["storm"]
        ratio = (st["p99_us"] / q["p99_us"]) if q["p99_us"] and st["p99_us"] else None
        print(f"login storm (32 concurrent logins; {storm['logins_during']} finished while wrk ran, "
              f"{storm['logins_after']} after): proxied p99 "
              f"{fmt_us(q['p99_us'])} quiet -> {fmt_us(st['p99_us'])} during the storm"
              f"{'' if ratio is None else f' ({ratio:.2f}x; target <= 2x)'}, "
              f"req/s {fmt_rps(q['rps'])} -> {fmt_rps(st['rps'])}")
        ib = storm["idle_burners"]
        control = (ib["p99_us"] / q["p99_us"]) if q["p99_us"] and ib["p99_us"] else None
        print(f"control, no logins but a CPU burner per core placed as the hash helper is: proxied p99 "
              f"{fmt_us(ib['p99_us'])}{'' if control is None else f' ({control:.2f}x)'}, req/s {fmt_rps(ib['rps'])}")


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="build directory (relative to the repository)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--targets", default=",".join(ALL_TARGETS),
                        help=f"comma-separated subset of {','.join(ALL_TARGETS)}")
    parser.add_argument("--no-upload", action="store_true", help="skip the 100 MB upload RSS measurement")
    parser.add_argument("--no-storm", action="store_true", help="skip the login storm measurement")
    parser.add_argument("--json", help="also write the summary as JSON to this file")
    parser.add_argument("--polling-idle", action="store_true",
                        help="hold /dev/cpu_dma_latency at 0 for the run (needs root), as latency-tuned hosts "
                             "do: idle CPUs poll instead of halting, so a wakeup costs no exit from a halted "
                             "virtual CPU")
    args = parser.parse_args()
    if args.polling_idle:
        try:
            # Held open until the script exits: the kernel drops the request when it is closed.
            pm_qos = os.open("/dev/cpu_dma_latency", os.O_WRONLY)
            os.write(pm_qos, struct.pack("i", 0))
        except OSError as e:
            log(f"--polling-idle: cannot hold /dev/cpu_dma_latency at 0: {e}")
            return 1
        log("idle CPUs poll for this run (/dev/cpu_dma_latency held at 0)")
    if args.quick:
        args.duration, args.rounds = 3, 1
    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in ALL_TARGETS]
    if unknown:
        parser.error(f"unknown target(s): {','.join(unknown)}")
    build = os.path.join(REPO, args.build)
    for tool in ["wrk"] + [t for t in ("nginx", "haproxy") if t in targets] + \
                (["redis-server"] if "doorman-redis" in targets else []):
        if not shutil.which(tool):
            log(f"{tool} is not installed")
            return 1

    # SIGTERM would otherwise end Python without running the finally below,
    # leaving the children (each in its own session) running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="doorman-bench-")
    procs = Processes(tmp)
    secret = secrets.token_hex(32)
    ports = {}  # target -> port
    tokens = {}  # target -> bearer token
    memory = None
    try:
        # The upstream is needed by every target: if it fails, nothing runs.
        upstream_port = free_port()
        start_upstream(procs, build, upstream_port)
        if "upstream" in targets:
            ports["upstream"] = upstream_port
        # Any other target that fails to start is reported and left out; the
        # others are still measured, and the exit status says one failed.
        failed = {}

        def attempt(name, start):
            try:
                start()
                return True
            except (StartError, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
                failed[name] = str(e)
                log(f"could not start {name}: {e}")
                return False

        user_ready = False
        doorman_pid = None
        db_path = os.path.join(tmp, "bench.db")
        redis_port = None
        for name in (t for t in targets if t in DOORMAN_TARGETS):
            def start_one(name=name):
                nonlocal user_ready, doorman_pid, redis_port
                if DOORMAN_TARGETS[name][0] == "redis" and redis_port is None:
                    port = free_port()
                    start_redis(procs, tmp, port)
                    redis_port = port
                port = free_port()
                proc, tokens[name] = start_doorman(procs, build, tmp, name, port, upstream_port, db_path, secret,
                                                   redis_port, user_ready)
                user_ready = True
                check_target(name, port, tokens[name], True)
                ports[name] = port
                if name == "doorman":
                    doorman_pid = proc.pid
            attempt(name, start_one)
        # HAProxy checks the very JWT doorman issued; without doorman, one minted here.
        jwt = tokens.get("doorman") or mint_jwt(secret, str(uuid.uuid4()))
        for name, start in (("nginx", start_nginx), ("haproxy", start_haproxy)):
            if name not in targets:
                continue
            def start_one(name=name, start=start):
                port = free_port()
                if name == "nginx":
                    start(procs, tmp, port, upstream_port)
                else:
                    start(procs, tmp, port, upstream_port, secret)
                check_target(name, port, jwt, name == "haproxy")
                ports[name] = port
            attempt(name, start_one)
        if "upstream" in ports:
            check_target("upstream", upstream_port, jwt, False)
        order = [t for t in targets if t in ports]
        if not order:
            log("no target started; nothing to measure")
            return 1
        for name in order:
            tokens.setdefault(name, jwt)
        if doorman_pid and not args.no_upload:
            # Before the load runs, so "idle" is the RSS of a fresh process.
            idle, peak, rate, ok = measure_upload(doorman_pid, ports["doorman"], tokens["doorman"])
            memory = {"idle_kib": idle, "peak_kib": peak, "mb_per_s": rate, "ok": ok}
            helper = hash_helper_pid(doorman_pid)
            if helper:
                memory["hash_helper_kib"] = vm_rss_kib(helper)
                memory["hash_helper_anon_kib"] = status_kib(helper, "RssAnon")

        total = len(order) * args.rounds * 2 * args.duration
        log(f"targets {', '.join(order)}: {args.rounds} round(s) of {args.duration} s runs, about {total} s")
        results = {name: {"c32": [], "c1": []} for name in order}
        for rnd in range(args.rounds):
            # Rotate the start so no target always runs first (or right after another).
            rotated = order[rnd % len(order):] + order[:rnd % len(order)]
            for name in rotated:
                for conns, key in ((args.connections, "c32"), (1, "c1")):
                    r = run_wrk(ports[name], tokens[name], conns, args.duration)
                    results[name][key].append(r)
                    log(f"round {rnd + 1} {name} -c{conns}: {fmt_rps(r['rps'])} req/s, p50 {fmt_us(r['p50_us'])}, "
                        f"p99 {fmt_us(r['p99_us'])}, errors {r['errors']}")
        storm = None
        if "doorman" in ports and not args.no_storm:
            log("login storm: proxied load with and without 32 concurrent logins")
            storm = measure_login_storm(ports["doorman"], tokens["doorman"], args.connections, args.duration)
        summary = summarize(results)
        print_report(summary, memory, storm)
        for name, why in failed.items():
            print(f"NOT MEASURED: {name}: {' '.join(why.split())[:300]}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"summary": summary, "memory": memory, "storm": storm, "runs": results,
                           "duration_s": args.duration, "rounds": args.rounds, "failed": failed}, f, indent=2)
        return 1 if failed else 0
    except StartError as e:
        log(f"could not start: {e}")
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
