#!/usr/bin/python3
"""Instructions per proxied request, counted by callgrind: repeatable where
wall-clock numbers on a shared machine are not.

Starts the echo upstream and doorman (1 worker, no access log, one bearer +
JWT backend, a long user-cache TTL so the database is not in the count) under
`valgrind --tool=callgrind`, warms up, zeroes the counters, sends --requests
keep-alive GETs with a valid JWT from one connection, dumps, and prints the
instructions (Ir) per request and the top functions by inclusive cost.

    /usr/bin/python3 bench/callgrind_profile.py --build build-perf --requests 2000

With --strace, doorman runs natively instead and `strace -c -f` attached after the
warm-up counts the system calls of the measured requests. With --cpu, doorman runs
natively under `wrk -c32` for --duration seconds and the CPU time it used (user +
system, from /proc) is divided by the requests served: less noisy than req/s on a
shared machine, and it counts the kernel's share, which callgrind does not see.

Every process it started is stopped at the end, whatever happens.
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import secrets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (shares the target helpers)

REPO = run_bench.REPO
VALGRIND_START_TIMEOUT_S = 120


def config_text(port, upstream_port, db_path, secret):
    return f"""
server:
  listen: "127.0.0.1:{port}"
  workers: 1
  access_log: false
upstream:
  url: "http://127.0.0.1:{upstream_port}"
database:
  url: "sqlite:///{db_path}"
secret: "{secret}"
users:
  cache_ttl_ms: 3600000
auth:
  backends:
    - name: bench
      transport: {{type: bearer}}
      strategy: {{type: jwt, lifetime_seconds: 3600}}
access:
  default: authenticated
"""


def wait_listening(proc, port, timeout):
    why = run_bench.not_listening(proc, port, timeout)
    if why:
        raise RuntimeError(f"process {why}")


def send_requests(port, token, count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(count):
        conn.request("GET", "/bench", headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET /bench answered {resp.status}")
    conn.close()


def total_ir(out_file):
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime


def cpu_per_request(procs, build, cfg, port, token, args):
    doorman = procs.start("doorman", [os.path.join(build, "doorman"), "serve", "--config", cfg])
    wait_listening(doorman, port, 30)
    send_requests(port, token, args.warmup)
    user0, sys0 = cpu_seconds(doorman.pid)
    argv = ["wrk", "-t2", "-c32", f"-d{args.duration}s", "-H", f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{port}/bench"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60).stdout
    user1, sys1 = cpu_seconds(doorman.pid)
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    if not requests:
        raise RuntimeError(f"wrk served nothing:\n{out}")
    user_us, sys_us = (user1 - user0) * 1e6 / requests, (sys1 - sys0) * 1e6 / requests
    print(f"requests: {requests}  CPU per request: user {user_us:.1f} us + system {sys_us:.1f} us "
          f"= {user_us + sys_us:.1f} us")


def count_syscalls(procs, build, cfg, port, token, args):
    doorman = procs.start("doorman", [os.path.join(build, "doorman"), "serve", "--config", cfg])
    wait_listening(doorman, port, 30)
    send_requests(port, token, args.warmup)
    out = os.path.join(procs.tmp, "strace.txt")
    summary = [] if args.strace_raw else ["-c"]
    tracer = subprocess.Popen(["strace", "-f"] + summary + ["-o", out, "-p", str(doorman.pid)],
                              stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # strace attaches to every thread before the first measured request
    requests = args.requests
    if args.strace_wrk:
        argv = ["wrk", "-t2", "-c32", f"-d{args.duration}s", "-H", f"Authorization: Bearer {token}",
                f"http://127.0.0.1:{port}/bench"]
        load = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60).stdout
        requests = int(re.search(r"(\d+) requests in", load).group(1))
        print(f"wrk requests: {requests}")
    else:
        send_requests(port, token, requests)
    tracer.send_signal(2)
    tracer.wait(timeout=30)
    with open(out) as f:
        text = f.read()
    print(text)
    m = re.search(r"^[\d.\s]+?\s+(\d+)\s+(?:\d+\s+)?total$", text, re.M)
    if m:
        print(f"system calls per request: {int(m.group(1)) / requests:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="build directory (relative to the repository)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--top", type=int, default=40, help="functions to list (0: none)")
    parser.add_argument("--keep", help="copy the callgrind output file here")
    parser.add_argument("--strace", action="store_true", help="count system calls per request instead")
    parser.add_argument("--cpu", action="store_true", help="CPU time per request under wrk -c32 instead")
    parser.add_argument("--duration", type=int, default=5, help="with --cpu: seconds of load")
    parser.add_argument("--strace-wrk", action="store_true", help="with --strace: load with wrk -c32 for --duration s")
    parser.add_argument("--strace-raw", action="store_true", help="with --strace: print the calls, not counts")
    args = parser.parse_args()
    build = os.path.join(REPO, args.build)

    tmp = tempfile.mkdtemp(prefix="doorman-callgrind-")
    procs = run_bench.Processes(tmp)
    try:
        upstream_port, port = run_bench.free_port(), run_bench.free_port()
        run_bench.start_upstream(procs, build, upstream_port)
        secret = secrets.token_hex(32)
        cfg = run_bench.write(os.path.join(tmp, "doorman.yaml"),
                              config_text(port, upstream_port, os.path.join(tmp, "doorman.db"), secret))
        for argv, stdin in ((["migrate", "--config", cfg], None),
                            (["users", "create", "--config", cfg, "--email", run_bench.EMAIL, "--password-stdin"],
                             run_bench.PASSWORD + "\n")):
            r = run_bench.run_cli(build, argv, stdin)
            if r.returncode != 0:
                raise RuntimeError(f"doorman {argv[0]} failed: {r.stderr.strip()}")
        # Log in on a plain doorman (Argon2 under valgrind takes too long), then profile another.
        plain = procs.start("doorman-login", [os.path.join(build, "doorman"), "serve", "--config", cfg])
        wait_listening(plain, port, 30)
        form = urllib.parse.urlencode({"username": run_bench.EMAIL, "password": run_bench.PASSWORD})
        status, body = run_bench.request(port, "POST", "/auth/bench/login", body=form,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"login answered {status}")
        token = json.loads(body)["access_token"]
        plain.terminate()
        plain.wait(timeout=15)

        if args.strace:
            count_syscalls(procs, build, cfg, port, token, args)
            return
        if args.cpu:
            cpu_per_request(procs, build, cfg, port, token, args)
            return
        out_file = os.path.join(tmp, "callgrind.out")
        profiled = procs.start("doorman", ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                                           "--dump-instr=no", os.path.join(build, "doorman"), "serve",
                                           "--config", cfg])
        wait_listening(profiled, port, VALGRIND_START_TIMEOUT_S)
        send_requests(port, token, args.warmup)
        subprocess.run(["callgrind_control", "--zero", str(profiled.pid)], check=True, capture_output=True)
        started = time.monotonic()
        send_requests(port, token, args.requests)
        elapsed = time.monotonic() - started
        subprocess.run(["callgrind_control", "--dump=measured", str(profiled.pid)], check=True, capture_output=True)
        dumps = sorted(f for f in os.listdir(tmp) if f.startswith("callgrind.out."))
        if not dumps:
            raise RuntimeError("callgrind wrote no dump")
        dump = os.path.join(tmp, dumps[-1])
        ir = total_ir(dump)
        print(f"requests: {args.requests} in {elapsed:.1f} s under callgrind")
        print(f"Ir total: {ir:,}  Ir per request: {ir / args.requests:,.0f}")
        if args.keep:
            subprocess.run(["cp", dump, args.keep], check=True)
        if args.top:
            annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", dump], capture_output=True,
                                      text=True)
            lines = [l for l in annotate.stdout.splitlines() if re.match(r"\s*[\d,]+ \(", l)]
            for line in lines[:args.top]:
                print(line[:200])
    finally:
        procs.stop_all()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
