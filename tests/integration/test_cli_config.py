"""The doorman command line and config validation (DESIGN.md §4, §9).

Covers: check-config on a good config (exit 0, effective config printed, secrets
masked; env expansion with defaults; secret_file), each kind of bad config
(unknown key, wrong type, bad value, missing secret, short secret, unset env
var, an `oauth:` section -> "not supported yet", YAML syntax) -> exit 2 with one
stderr line naming the key path and line, and `serve` refusing the same config
with exit 2 without listening; migrate (fresh, idempotent, keeps data, fixture
copy gets the lower(email) unique index); users create/list/set (flags,
--password-stdin, duplicates, unknown user); version; usage errors -> 2.
"""

import os
import shutil
import sqlite3
import subprocess

from argon2 import PasswordHasher

import harness as h

SECRET = "cli-test-secret-abcdefghijklmnopqrstuvwxyz"


class CliConfigTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = h.make_temp_dir("doorman-cli-")

    def setUp(self):
        self.port = h.free_port()
        self.admin_port = h.free_port()
        self.db = os.path.join(self.tmp, "db-%s.db" % self._testMethodName)

    def good_lines(self, secret_line=None):
        """A valid config as a list of lines (line N of the file is item N-1)."""
        return [
            "server:",                                                   # 1
            '  listen: "127.0.0.1:%d"' % self.port,                      # 2
            '  admin_listen: "127.0.0.1:%d"' % self.admin_port,          # 3
            "upstream:",                                                 # 4
            '  url: "http://127.0.0.1:%d"' % h.free_port(),              # 5
            "database:",                                                 # 6
            '  url: "sqlite:///%s"' % self.db,                           # 7
            secret_line or 'secret: "%s"' % SECRET,                      # 8
            "auth:",                                                     # 9
            "  backends:",                                               # 10
            "    - name: jwt",                                           # 11
            "      transport: {type: bearer}",                           # 12
            "      strategy: {type: jwt, lifetime_seconds: 3600}",       # 13
        ]

    def write(self, lines, name="config.yaml"):
        path = os.path.join(self.tmp, "%s-%s" % (self._testMethodName, name))
        return h.write_file(path, "\n".join(lines) + "\n")

    def cli(self, *args, **kw):
        return h.run_cli(list(args), **kw)

    def assertOneLineError(self, r, *needles, line=None):
        self.assertEqual(r.returncode, 2, "exit %d, stderr %r" % (r.returncode, r.stderr))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])
        if line is not None:
            self.assertRegex(lines[0], r"(?<!\d)%d(?!\d)" % line, "line %d not named" % line)
        return lines[0]

    # ---------------------------------------------------------------- check-config

    def test_check_config_ok_masks_secrets(self):
        path = self.write(self.good_lines())
        r = self.cli("check-config", "--config", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("127.0.0.1:%d" % self.port, r.stdout)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertIn("jwt", r.stdout)

    def test_check_config_env_expansion_and_default(self):
        lines = self.good_lines('secret: "${DOORMAN_IT_SECRET}"')
        lines[1] = '  listen: "${DOORMAN_IT_HOST:-127.0.0.1}:%d"' % self.port
        path = self.write(lines)
        env = dict(os.environ, DOORMAN_IT_SECRET=SECRET + "-from-env")
        env.pop("DOORMAN_IT_HOST", None)
        r = subprocess.run([h.doorman_bin(), "check-config", "--config", path], capture_output=True, text=True,
                           env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("127.0.0.1:%d" % self.port, r.stdout)
        self.assertNotIn(SECRET + "-from-env", r.stdout + r.stderr)

    def test_check_config_secret_file(self):
        secret_path = os.path.join(self.tmp, "secret.txt")
        h.write_file(secret_path, SECRET + "-file\n")
        path = self.write(self.good_lines('secret_file: "%s"' % secret_path))
        r = self.cli("check-config", "--config", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(SECRET + "-file", r.stdout + r.stderr)

    def bad_configs(self):
        good = self.good_lines()
        unknown = good[:3] + ["  bogus_key: 1"] + good[3:]                       # line 4
        wrong_type = good[:3] + ['  workers: "many"'] + good[3:]                 # line 4
        bad_value = good + ["access:", "  default: sometimes"]                   # line 15
        bad_port = good[:1] + ['  listen: "127.0.0.1:99999"'] + good[2:]         # line 2
        missing_secret = good[:7] + good[8:]
        short_secret = self.good_lines('secret: "too-short"')                    # line 8
        unset_env = self.good_lines('secret: "${DOORMAN_IT_NO_SUCH_VAR_7F}"')    # line 8
        oauth = good + ["oauth:", "  state_secret: %s" % SECRET, "  providers: []"]  # line 14
        backend_unknown = good[:12] + ["      strategy: {type: jwt, lifetime_seconds: 3600, colour: red}"]
        return [
            ("unknown key", unknown, ["server.bogus_key"], 4),
            ("wrong type", wrong_type, ["server.workers"], 4),
            ("bad value", bad_value, ["access.default"], 15),
            ("bad port", bad_port, ["server.listen"], 2),
            ("missing secret", missing_secret, ["secret"], None),
            ("short secret", short_secret, ["secret"], 8),
            ("unset env var", unset_env, ["DOORMAN_IT_NO_SUCH_VAR_7F"], 8),
            ("oauth present", oauth, ["oauth", "not supported yet"], 14),
            ("unknown nested key", backend_unknown, ["colour"], 13),
        ]

    def test_bad_configs_check_config_exit_2_one_line(self):
        for name, lines, needles, line in self.bad_configs():
            with self.subTest(case=name):
                path = self.write(lines, name.replace(" ", "_") + ".yaml")
                env = dict(os.environ)
                env.pop("DOORMAN_IT_NO_SUCH_VAR_7F", None)
                r = subprocess.run([h.doorman_bin(), "check-config", "--config", path], capture_output=True,
                                   text=True, env=env, timeout=30)
                self.assertOneLineError(r, *needles, line=line)

    def test_bad_configs_serve_exit_2_without_listening(self):
        for name, lines, needles, line in self.bad_configs():
            with self.subTest(case=name):
                path = self.write(lines, name.replace(" ", "_") + ".yaml")
                try:
                    r = self.cli("serve", "--config", path, timeout=15)
                except subprocess.TimeoutExpired:
                    self.fail("serve kept running with a bad config (%s)" % name)
                self.assertOneLineError(r, *needles, line=line)
                self.assertFalse(h.port_is_listening(self.port))

    def test_yaml_syntax_error_exit_2(self):
        path = self.write(self.good_lines() + ["access:", "  rules: [{path: /x, access: anonymous}"])
        r = self.cli("check-config", "--config", path)
        self.assertOneLineError(r)

    def test_missing_config_file_exit_2(self):
        r = self.cli("check-config", "--config", os.path.join(self.tmp, "does-not-exist.yaml"))
        self.assertOneLineError(r, "does-not-exist.yaml")

    def test_unsupported_sections_rejected(self):
        good = self.good_lines()
        cert = h.write_file(os.path.join(self.tmp, "cert.pem"), "not a real certificate\n")
        key = h.write_file(os.path.join(self.tmp, "key.pem"), "not a real key\n")
        cases = {
            "server.tls": good[:3] + ["  tls: {cert_file: %s, key_file: %s}" % (cert, key)] + good[3:],
        }
        for name, lines in cases.items():
            with self.subTest(case=name):
                r = self.cli("check-config", "--config", self.write(lines, name + ".yaml"))
                self.assertOneLineError(r, "not supported yet")

    # ---------------------------------------------------------------- migrate

    def tables(self, db):
        con = sqlite3.connect(db)
        try:
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()

    def test_migrate_fresh_and_idempotent(self):
        path = self.write(self.good_lines())
        r = self.cli("migrate", "--config", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue({"user", "accesstoken"} <= self.tables(self.db), self.tables(self.db))
        c = self.cli("users", "create", "--config", path, "--email", "keep@example.com", "--password", "password-1234")
        self.assertEqual(c.returncode, 0, c.stderr)
        for _ in range(2):
            r = self.cli("migrate", "--config", path)
            self.assertEqual(r.returncode, 0, r.stderr)
        con = sqlite3.connect(self.db)
        try:
            emails = [r[0] for r in con.execute('SELECT email FROM "user"')]
        finally:
            con.close()
        self.assertEqual(emails, ["keep@example.com"])

    def test_migrate_fixture_copy_keeps_data_and_adds_lower_email_index(self):
        shutil.copyfile(os.path.join(h.fixtures_dir(), "fastapi-users-14", "app.db"), self.db)
        path = self.write(self.good_lines())
        for _ in range(2):
            r = self.cli("migrate", "--config", path)
            self.assertEqual(r.returncode, 0, r.stderr)
        con = sqlite3.connect(self.db)
        try:
            emails = sorted(r[0] for r in con.execute('SELECT email FROM "user"'))
            tokens = con.execute("SELECT count(*) FROM accesstoken").fetchone()[0]
            index_sql = [r[0] or "" for r in con.execute("SELECT sql FROM sqlite_master WHERE type='index'")]
        finally:
            con.close()
        self.assertEqual(emails, sorted(h.fixture_tokens()["users"].keys()))
        self.assertEqual(tokens, 1)
        self.assertTrue(any("unique" in s.lower() and "lower" in s.lower() and "email" in s.lower()
                            for s in index_sql), index_sql)

    # ---------------------------------------------------------------- users

    def user_row(self, email):
        con = sqlite3.connect(self.db)
        try:
            return con.execute('SELECT id, email, hashed_password, is_active, is_superuser, is_verified '
                               'FROM "user" WHERE lower(email) = lower(?)', (email,)).fetchone()
        finally:
            con.close()

    def test_users_create_list_set(self):
        path = self.write(self.good_lines())
        r = self.cli("users", "create", "--config", path, "--email", "Plain@Example.COM", "--password", "password-1234")
        self.assertEqual(r.returncode, 0, r.stderr)
        row = self.user_row("plain@example.com")
        self.assertIsNotNone(row)
        self.assertEqual(row[1], "Plain@example.com")
        self.assertTrue(h.uuid_like(row[0]), row)
        self.assertTrue(row[2].startswith("$argon2id$"))
        self.assertTrue(PasswordHasher().verify(row[2], "password-1234"))
        self.assertEqual(tuple(row[3:]), (1, 0, 0))

        r = self.cli("users", "create", "--config", path, "--email", "boss@example.com", "--password",
                     "password-1234", "--superuser", "--verified", "--inactive")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tuple(self.user_row("boss@example.com")[3:]), (0, 1, 1))

        r = self.cli("users", "list", "--config", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Plain@example.com", r.stdout)
        self.assertIn("boss@example.com", r.stdout)
        self.assertIn(row[0], r.stdout)

        r = self.cli("users", "set", "--config", path, "--email", "plain@example.com", "--superuser", "true",
                     "--verified", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tuple(self.user_row("plain@example.com")[3:]), (1, 1, 1))
        r = self.cli("users", "set", "--config", path, "--email", "Plain@example.com", "--active", "false",
                     "--superuser", "false")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tuple(self.user_row("plain@example.com")[3:]), (0, 0, 1))

    def test_users_create_password_stdin(self):
        path = self.write(self.good_lines())
        r = self.cli("users", "create", "--config", path, "--email", "stdin@example.com", "--password-stdin",
                     input="stdin-password-1\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(PasswordHasher().verify(self.user_row("stdin@example.com")[2], "stdin-password-1"))

    def test_users_errors(self):
        path = self.write(self.good_lines())
        r = self.cli("users", "create", "--config", path, "--email", "dup@example.com", "--password", "password-1234")
        self.assertEqual(r.returncode, 0, r.stderr)
        with self.subTest("duplicate, other case"):
            r = self.cli("users", "create", "--config", path, "--email", "DUP@example.com", "--password",
                         "password-1234")
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(len([l for l in r.stderr.splitlines() if l.strip()]), 1, r.stderr)
        with self.subTest("unknown user"):
            r = self.cli("users", "set", "--config", path, "--email", "nobody@example.com", "--superuser", "true")
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(len([l for l in r.stderr.splitlines() if l.strip()]), 1, r.stderr)
        with self.subTest("invalid email"):
            r = self.cli("users", "create", "--config", path, "--email", "not-an-email", "--password", "password-1234")
            self.assertNotEqual(r.returncode, 0)
            self.assertIsNone(self.user_row("not-an-email"))
        with self.subTest("bad flag value"):
            r = self.cli("users", "set", "--config", path, "--email", "dup@example.com", "--superuser", "maybe")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(self.user_row("dup@example.com")[4], 0)

    # ---------------------------------------------------------------- version and usage

    def test_version(self):
        r = self.cli("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d+\.\d+\.\d+")

    def test_usage_errors_exit_2(self):
        path = self.write(self.good_lines())
        cases = [
            [],
            ["frobnicate"],
            ["serve", "--config"],
            ["check-config"],
            ["users", "create", "--config", path, "--password", "password-1234"],
            ["users", "create", "--config", path, "--email", "x@example.com"],
            ["users", "frobnicate", "--config", path],
            ["check-config", "--config", path, "--no-such-flag"],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.cli(*args)
                self.assertEqual(r.returncode, 2, "args %r: exit %d stderr %r" % (args, r.returncode, r.stderr))
                self.assertTrue(r.stderr.strip(), "no message on stderr")
        self.assertIsNone(self.user_row("x@example.com") if os.path.exists(self.db) else None)


if __name__ == "__main__":
    h.main()
