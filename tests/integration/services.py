"""External services the integration tests start on loopback in temp dirs
(Redis; other services may be added below by their own sections).

Each service is a real server binary, killed at exit like every process the
harness starts.
"""

import os
import shutil
import subprocess

import harness as h


# --------------------------------------------------------------------------
# Redis (redis-server and redis-cli from PATH, or DOORMAN_REDIS_SERVER / DOORMAN_REDIS_CLI)


class RedisServer:
    """A throwaway redis-server on a loopback port in a temp dir, no persistence.

    stop() and start() keep the port, so a test can take Redis away and bring
    it back; cli() runs redis-cli against it (to write keys as another app would).
    """

    def __init__(self, port=None):
        self.port = port or h.free_port()
        self.dir = h.make_temp_dir("doorman-redis-")
        self.server_bin = os.environ.get("DOORMAN_REDIS_SERVER") or shutil.which("redis-server") or "redis-server"
        self.cli_bin = os.environ.get("DOORMAN_REDIS_CLI") or shutil.which("redis-cli") or "redis-cli"
        self.proc = None
        self.start()

    def url(self, db=0):
        return "redis://127.0.0.1:%d/%d" % (self.port, db)

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return
        self._log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [self.server_bin, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        h._live_processes.append(self.proc)
        if not h.wait_for_port(self.port, 10.0, self.proc):
            raise RuntimeError("redis-server did not start on %d" % self.port)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc in h._live_processes:
            h._live_processes.remove(self.proc)
        self.proc = None
        self._log.close()

    def cli(self, *args, db=0):
        """Runs one redis-cli command; returns its stdout, stripped."""
        out = subprocess.run([self.cli_bin, "-h", "127.0.0.1", "-p", str(self.port), "-n", str(db)] + list(args),
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError("redis-cli %r failed: %s" % (args, out.stderr))
        return out.stdout.strip()


def start_redis(port=None):
    """A started RedisServer (stop() it when done; it is killed at exit anyway)."""
    return RedisServer(port)


# --------------------------------------------------------------------------
# PostgreSQL (binaries from DOORMAN_PG_BINDIR, `pg_config --bindir` or
# /usr/lib/postgresql/*/bin; as root the server runs as `postgres` via runuser,
# since PostgreSQL refuses to run as root)

import atexit
import glob
import pwd


def _pg_bindir():
    env = os.environ.get("DOORMAN_PG_BINDIR")
    if env:
        return env
    candidates = []
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for d in candidates:
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server binaries not found: set DOORMAN_PG_BINDIR")


class PostgresServer:
    """A throwaway PostgreSQL on a loopback port, data and socket in a temp dir.

    stop() and start() keep the port and the data, so a test can take the
    database away and bring it back; url() names the one database created.
    fsync is off: the tests kill doorman, never the database server.
    """

    def __init__(self, port=None, dbname="doorman"):
        self.port = port or h.free_port()
        self.dbname = dbname
        self.bindir = _pg_bindir()
        self.dir = h.make_temp_dir("doorman-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.running = False
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        atexit.register(self._kill_at_exit)
        self.start()
        self._run([os.path.join(self.bindir, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", "postgres", self.dbname])

    def _run(self, argv, timeout=60):
        out = subprocess.run(self.as_user + argv, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("PostgreSQL: %s failed (%d): %s\n%s" % (
                os.path.basename(argv[0]), out.returncode, out.stderr.strip(), self.log()))
        return out

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def url(self):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, self.dbname)

    def sql(self, statement):
        """Runs one statement with psql (behind doorman's back); returns its unaligned output."""
        out = self._run([os.path.join(self.bindir, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                         "postgres", "-d", self.dbname, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement])
        return out.stdout.strip()

    def _pg_ctl(self, *args):
        return [os.path.join(self.bindir, "pg_ctl"), "-D", self.data] + list(args)

    def start(self):
        if self.running:
            return
        opts = "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off" % (
            self.port, self.dir)
        self._run(self._pg_ctl("start", "-w", "-t", "30", "-l", self.log_path, "-o", opts))
        self.running = True

    def stop(self, mode="fast"):
        """Stops the server; `immediate` is a crash as far as clients can tell."""
        if not self.running:
            return
        self._run(self._pg_ctl("stop", "-w", "-m", mode))
        self.running = False

    def _kill_at_exit(self):
        if self.running:
            try:
                subprocess.run(self.as_user + self._pg_ctl("stop", "-m", "immediate"),
                               capture_output=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                pass
            self.running = False


def start_postgres(port=None):
    """A started PostgresServer with one empty database (stop() it to take the database away)."""
    return PostgresServer(port)
