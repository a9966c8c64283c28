"""Password hashing runs in doorman's hash helper process (proxy/hash_helper.hpp).

Seen from outside: `doorman serve` has one child, `doorman-hash`, in a session
of its own with its autogroup at nice 19; the CPU of registrations and logins
is spent there, not in doorman; a helper that is killed is replaced and logins
go on; under saturating proxied load the helper is stopped (its governor) and
the logins waiting for it finish once the load ends; the helper goes away with
doorman, on SIGTERM and on SIGKILL alike.
"""

import os
import signal
import subprocess
import threading
import time

import harness as h


def children(pid):
    """Pids of the live (not zombie) children of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = h.proc_stat_fields(int(entry))
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def state(pid):
    """The process state letter of stat(5): R, S, T (stopped), Z..."""
    return h.proc_stat_fields(pid)[0]


def pauses(port):
    """doorman_hash_helper_pauses_total from the admin listener."""
    for line in h.get(port, "/metrics").body.decode().splitlines():
        if line.startswith("doorman_hash_helper_pauses_total "):
            return int(line.split()[1])
    raise AssertionError("no doorman_hash_helper_pauses_total in /metrics")


def gone(pid, within_s=5.0):
    """True once `pid` no longer exists (reaped, not a zombie), within the deadline."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not os.path.exists("/proc/%d" % pid):
            return True
        time.sleep(0.02)
    return False


class HashHelperTest(h.DoormanTestCase):
    def setUp(self):
        self.stack = h.Stack()
        self.addCleanup(self.stack.stop)

    def helper(self):
        kids = children(self.stack.doorman.proc.pid)
        self.assertEqual(len(kids), 1, kids)
        self.assertEqual(comm(kids[0]), "doorman-hash")
        return kids[0]

    def test_the_helper_runs_in_its_own_session_at_the_lowest_autogroup_weight(self):
        helper = self.helper()
        self.assertEqual(os.getsid(helper), helper)
        self.assertNotEqual(os.getsid(helper), os.getsid(self.stack.doorman.proc.pid))
        if os.path.exists("/proc/%d/autogroup" % helper):  # kernels with autogroups
            with open("/proc/%d/autogroup" % helper) as f:
                self.assertIn("nice 19", f.read())

    def test_registrations_and_logins_hash_in_the_helper(self):
        helper = self.helper()
        doorman_before = h.cpu_seconds(self.stack.doorman.proc.pid)
        helper_before = h.cpu_seconds(helper)
        email = h.unique_email("helper")
        self.register_user(self.stack.port, email, "helper-password-1")
        for _ in range(3):
            token = h.login_bearer(self.stack.port, email, "helper-password-1")
            self.assertEqual(h.get(self.stack.port, "/users/me", token=token).status, 200)
        r = h.login(self.stack.port, email, "not-the-password")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json(), {"detail": "LOGIN_BAD_CREDENTIALS"})
        # Five Argon2id hashes at m=64 MiB, t=3: far more CPU than doorman spent on the HTTP.
        helper_spent = h.cpu_seconds(helper) - helper_before
        doorman_spent = h.cpu_seconds(self.stack.doorman.proc.pid) - doorman_before
        self.assertGreater(helper_spent, 0.1)
        self.assertGreater(helper_spent, 3 * doorman_spent, (helper_spent, doorman_spent))
        self.assertEqual(self.helper(), helper)  # one helper served them all
        self.assertEqual(pauses(self.stack.admin_port), 0)  # doorman was not busy: never stopped

    def test_saturating_proxied_load_stops_the_helper_and_waiting_logins_finish_after(self):
        email = h.unique_email("governor")
        self.register_user(self.stack.port, email, "governor-password-1")
        helper = self.helper()
        load = subprocess.Popen(["wrk", "-t2", "-c32", "-d4s", "http://127.0.0.1:%d/public/load" % self.stack.port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(load.kill)
        time.sleep(0.5)
        answer = {}
        login = threading.Thread(target=lambda: answer.update(
            r=h.login(self.stack.port, email, "governor-password-1")))
        login.start()
        seen_stopped = False
        while load.poll() is None:
            seen_stopped = seen_stopped or state(helper) == "T"
            time.sleep(0.01)
        login.join(30)
        self.assertTrue(seen_stopped, "the helper was never stopped under saturating load")
        self.assertGreaterEqual(pauses(self.stack.admin_port), 1)
        self.assertEqual(answer["r"].status, 200, answer)
        self.assertIn("access_token", answer["r"].json())
        self.assertNotEqual(state(helper), "T")  # continued once the load ended
        self.assertEqual(self.helper(), helper)

    def test_a_killed_helper_is_replaced_and_logins_go_on(self):
        email = h.unique_email("respawn")
        self.register_user(self.stack.port, email, "respawn-password-1")
        first = self.helper()
        os.kill(first, signal.SIGKILL)
        # Started again while doorman has listeners and connections open: it must hold none of
        # them, or a connection doorman closes would stay open.
        with h.Conn(self.stack.port) as idle:
            self.assertEqual(h.get(self.stack.port, "/public/before", conn=idle).status, 200)
            self.assertTrue(h.login_bearer(self.stack.port, email, "respawn-password-1"))
            self.assertEqual(sorted(os.listdir("/proc/%d/fd" % self.helper()), key=int), ["0", "1", "2", "3"])
        self.assertTrue(gone(first), "the killed helper was not reaped")
        second = self.helper()
        self.assertNotEqual(second, first)
        self.assertIn("doorman: the hash helper (pid %d) was gone; started pid %d" % (first, second),
                      self.stack.doorman.stderr_text())
        metrics = h.get(self.stack.admin_port, "/metrics").body.decode()
        self.assertIn("\ndoorman_hash_helper_restarts_total 1\n", metrics)
        self.assertEqual(os.getsid(second), second)
        r = h.login(self.stack.port, email, "wrong-password-1")
        self.assertEqual(r.status, 400, r)
        self.assertTrue(self.stack.doorman.alive())

    def test_the_helper_ends_with_doorman_on_sigterm(self):
        helper = self.helper()
        self.stack.doorman.signal(signal.SIGTERM)
        self.assertEqual(self.stack.doorman.wait(15), 0)
        self.assertTrue(gone(helper), "the helper outlived doorman")

    def test_the_helper_ends_with_doorman_on_sigkill(self):
        helper = self.helper()
        self.stack.doorman.signal(signal.SIGKILL)
        self.stack.doorman.wait(15)
        # Not doorman's child any more once doorman is gone: init reaps it.
        self.assertTrue(gone(helper), "the helper outlived a killed doorman")


if __name__ == "__main__":
    h.main()
