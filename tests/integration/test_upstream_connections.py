"""Connection ends on both sides of the proxy, seen from outside.

doorman reads without asking the kernel when it knows a socket is empty
(proxy/socket_reads.hpp). These tests hold it to what that must never cost:
an upstream that closes its keep-alive connections, right after an answer or
while idle, never turns a request into a 502 or a wait for the response
timeout; and a client that sends its request and its end together gets its
answer, then the connection closed at once, not after the idle timeout.
The upstream here is a small raw-socket server, so the closing is exact.
"""

import socket
import threading
import time

import harness as h

RESPONSE_TIMEOUT_S = 5


class ClosingUpstream:
    """Answers each request 200 with a Content-Length body. `close_after_answer`:
    closes the connection right after each answer, without saying so in a
    header. `idle_close_s`: closes a connection that saw no request that long."""

    def __init__(self, port, close_after_answer=False, idle_close_s=None):
        self.close_after_answer = close_after_answer
        self.idle_close_s = idle_close_s
        self.connections = 0
        self.answers = 0
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(self.idle_close_s or 30)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1]
                body = b'{"path":"' + path + b'"}'
                with self.lock:  # counted before the client can see the answer
                    self.answers += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                if self.close_after_answer:
                    return
        except (socket.timeout, OSError):
            return
        finally:
            conn.close()

    def stop(self):
        self.stopped = True
        self.listener.close()


class UpstreamConnectionsTest(h.DoormanTestCase):
    def start(self, **upstream_kw):
        self.stack = h.Stack({
            "upstream": {"response_timeout_seconds": RESPONSE_TIMEOUT_S},
            "access": {"default": "anonymous"},
        }, start_upstream=False)
        self.addCleanup(self.stack.stop)
        self.upstream = ClosingUpstream(self.stack.upstream_port, **upstream_kw)
        self.addCleanup(self.upstream.stop)

    def assertAnsweredQuickly(self, path, conn=None):
        start = time.monotonic()
        r = h.get(self.stack.port, path, conn=conn)
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["path"], path)
        self.assertLess(elapsed, RESPONSE_TIMEOUT_S / 2, "answered only after %.1f s" % elapsed)

    def test_upstream_closing_after_each_answer(self):
        # The upstream's end arrives with its answer: the next request must not wait for it.
        self.start(close_after_answer=True)
        for i in range(6):
            self.assertAnsweredQuickly("/after-answer/%d" % i)
        with h.Conn(self.stack.port) as c:
            for i in range(4):
                self.assertAnsweredQuickly("/after-answer/same-client/%d" % i, conn=c)
        self.assertEqual(self.upstream.answers, 10)

    def test_upstream_closing_idle_connections(self):
        self.start(idle_close_s=0.2)
        for i in range(3):
            self.assertAnsweredQuickly("/idle/%d" % i)
            time.sleep(0.5)  # every pooled connection is closed by now
        self.assertEqual(self.upstream.answers, 3)
        self.assertGreaterEqual(self.upstream.connections, 3)

    def test_keep_alive_upstream_reuses_connections(self):
        # The other side of the same code: an upstream that keeps its connections gets them reused.
        self.start()
        with h.Conn(self.stack.port) as c:
            for i in range(8):
                self.assertAnsweredQuickly("/reuse/%d" % i, conn=c)
        self.assertEqual(self.upstream.answers, 8)
        self.assertLess(self.upstream.connections, 8)

    def assertAnsweredThenClosed(self, conn, path):
        r = conn.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["path"], path)
        start = time.monotonic()
        # The idle timeout is 60 s: a close within a few seconds means the end was seen.
        self.assertTrue(conn.is_closed(5.0), "doorman kept a half-closed client open")
        self.assertLess(time.monotonic() - start, 5.0)

    @staticmethod
    def send_with_end(conn, data):
        # Corked, the request and the end (FIN) leave in one segment: doorman's read
        # of the request takes the end with it, and epoll reports nothing after.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        conn.send(data)
        conn.sock.shutdown(socket.SHUT_WR)

    def test_client_sending_its_end_with_the_first_request(self):
        self.start()
        with h.Conn(self.stack.port, timeout=10) as c:
            self.send_with_end(c, h.build_request("GET", "/half-closed", host="x"))
            self.assertAnsweredThenClosed(c, "/half-closed")

    def test_client_sending_its_end_with_a_later_request(self):
        self.start()
        with h.Conn(self.stack.port, timeout=10) as c:
            self.assertAnsweredQuickly("/first", conn=c)
            time.sleep(0.1)  # doorman waits for the next request now
            self.send_with_end(c, h.build_request("GET", "/half-closed-later", host="x"))
            self.assertAnsweredThenClosed(c, "/half-closed-later")


if __name__ == "__main__":
    h.main()
