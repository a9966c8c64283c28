"""server.busy_poll_us: workers poll through short gaps instead of sleeping.

Seen from outside, nothing may change but latency and CPU: requests are
answered as usual on keep-alive and fresh connections, an idle doorman burns
no CPU (the polling stops once a gap outlasts the window), and SIGTERM still
drains and exits 0. (Latency itself is measured in bench/, not asserted.)
"""

import signal
import threading
import time

import harness as h

CONFIG = {
    "server": {"workers": 2, "busy_poll_us": 500},
    "access": {"default": "anonymous"},
}


class BusyPollTest(h.DoormanTestCase):
    def setUp(self):
        self.stack = h.Stack(CONFIG)
        self.addCleanup(self.stack.stop)

    def test_requests_are_answered(self):
        with h.Conn(self.stack.port) as c:
            for i in range(20):
                r = h.get(self.stack.port, "/ka/%d" % i, conn=c)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["path"], "/ka/%d" % i)
        for i in range(5):
            r = h.get(self.stack.port, "/fresh/%d" % i)
            self.assertEqual(r.status, 200, r)

    def test_idle_workers_sleep(self):
        for i in range(50):
            self.assertEqual(h.get(self.stack.port, "/warm/%d" % i).status, 200)
        time.sleep(0.3)
        pid = self.stack.doorman.proc.pid
        before = h.cpu_seconds(pid)
        time.sleep(2.0)
        used = h.cpu_seconds(pid) - before
        # Two workers polling without end would use about 4 s of CPU here.
        self.assertLess(used, 0.5, "an idle doorman used %.2f s of CPU in 2 s" % used)

    def test_sigterm_drains_and_exits_0(self):
        result = {}

        def slow():
            result["resp"] = h.get(self.stack.port, "/_echo/sleep?ms=800")

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        self.stack.doorman.signal(signal.SIGTERM)
        t.join(15)
        self.assertEqual(result["resp"].status, 200, result)
        self.assertEqual(self.stack.doorman.wait(10), 0, self.stack.logs())


if __name__ == "__main__":
    h.main()
