"""The network side of forwarding: connections, bodies, limits, faults.

Covers (DESIGN.md §2, §3, §10, §11): keep-alive and pipelining, 20 MB streamed
uploads (Content-Length and chunked; size and SHA-256 checked in the echo),
a 20 MB streamed download, request-smuggling shapes (CL+TE, two different
Content-Lengths, bad chunk size) -> 400 and the connection closed, oversized
header -> 431, oversized auth API body -> 413 while proxied bodies are not
limited, slow header -> closed after header_timeout_seconds, upstream down ->
502 and doorman keeps serving, upstream slow -> 504, WebSocket echo through
doorman with a token, SIGTERM draining an in-flight request and exiting 0.
"""

import hashlib
import os
import signal
import threading
import time

import harness as h

LIMITS = {
    "server": {"max_header_bytes": 8192, "max_body_bytes": 65536, "header_timeout_seconds": 1},
    "upstream": {"response_timeout_seconds": 1},
    "access": {"rules": [
        {"prefix": "/public/", "access": "anonymous"},
        {"prefix": "/_echo/", "access": "anonymous"},
        {"prefix": "/admin/", "access": "superuser"},
    ]},
}


class ProxyTransportTest(h.DoormanTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(LIMITS)
        with h.setup_guard(cls):
            cls.port = cls.stack.port
            assert h.register(cls.port, "t@example.com", "password-1234").status == 201
            cls.token = h.login_bearer(cls.port, "t@example.com", "password-1234")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assertServing(self):
        r = h.get(self.port, "/public/alive")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["path"], "/public/alive")

    # ---------------------------------------------------------------- connections

    def test_keep_alive_many_requests_one_socket(self):
        with h.Conn(self.port) as c:
            for i in range(6):
                path = "/public/ka/%d" % i if i % 2 == 0 else "/api/ka/%d" % i
                r = h.get(self.port, path, token=self.token, conn=c)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["path"], path)
            r = h.get(self.port, "/users/me", token=self.token, conn=c)
            self.assertEqual(r.status, 200, r)
            r = h.get(self.port, "/api/denied", conn=c)  # a 401 keeps the connection
            self.assertEqual(r.status, 401, r)
            r = h.get(self.port, "/public/after-401", conn=c)
            self.assertEqual(r.status, 200, r)

    def test_pipelined_requests_answered_in_order(self):
        with h.Conn(self.port) as c:
            data = b"".join(h.build_request("GET", "/public/pipe/%d" % i, host="x") for i in range(3))
            c.send(data)
            for i in range(3):
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["path"], "/public/pipe/%d" % i)

    def test_connection_close_honoured(self):
        with h.Conn(self.port) as c:
            r = c.request("GET", "/public/close", keep_alive=False)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(c.is_closed(3.0))

    # ---------------------------------------------------------------- bodies

    BIG = 20 * 1000 * 1000

    @classmethod
    def big_body(cls):
        if not hasattr(cls, "_big"):
            block = os.urandom(1 << 20)
            data = (block * (cls.BIG // len(block) + 1))[: cls.BIG]
            cls._big = (data, hashlib.sha256(data).hexdigest())
        return cls._big

    def test_streamed_upload_content_length_20mb(self):
        data, digest = self.big_body()
        with h.Conn(self.port, timeout=60) as c:
            r = c.request("POST", "/public/upload", headers=[("Content-Type", "application/octet-stream")], body=data)
            self.assertEqual(r.status, 200, r)
            echo = r.json()
            self.assertEqual(echo["body_size"], self.BIG)
            self.assertEqual(echo["body_sha256"], digest)
            # the connection is still usable
            self.assertEqual(h.get(self.port, "/public/next", conn=c).status, 200)

    def test_streamed_upload_chunked_20mb(self):
        data, digest = self.big_body()
        with h.Conn(self.port, timeout=60) as c:
            c.send(h.build_request("POST", "/api/upload", [
                ("Authorization", "Bearer " + self.token), ("Transfer-Encoding", "chunked"),
                ("Content-Type", "application/octet-stream")], None, host="127.0.0.1"))
            step = 1_000_003  # odd chunk sizes
            for off in range(0, len(data), step):
                piece = data[off: off + step]
                c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
            c.send(b"0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            echo = r.json()
            self.assertEqual(echo["body_size"], self.BIG)
            self.assertEqual(echo["body_sha256"], digest)
            self.assertEqual(h.get(self.port, "/public/next", conn=c).status, 200)

    def test_streamed_download_20mb(self):
        n = 20_000_000
        count = [0]
        sample = bytearray()

        def sink(b):
            count[0] += len(b)
            if len(sample) < 16:
                sample.extend(b[:16])

        with h.Conn(self.port, timeout=60) as c:
            r = c.request("GET", "/_echo/bytes?n=%d" % n, sink=sink)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(count[0], n)
            self.assertEqual(bytes(sample[:4]), b"xxxx")
            self.assertEqual(h.get(self.port, "/public/next", conn=c).status, 200)

    def test_upstream_status_passed_through(self):
        for status in (201, 404, 418, 500, 503):
            with self.subTest(status=status):
                r = h.get(self.port, "/_echo/status/%d" % status)
                self.assertEqual(r.status, status, r)

    # ---------------------------------------------------------------- smuggling

    def assertRefused400AndClosed(self, raw):
        with h.Conn(self.port, timeout=10) as c:
            c.send(raw)
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            self.assertTrue(c.is_closed(5.0), "connection left open after %r" % raw[:80])
            self.assertNotIn(b"HTTP/1.1", bytes(c.buf), "a second response followed the 400")
        self.assertServing()

    def test_smuggling_content_length_and_transfer_encoding(self):
        smuggled = b"GET /admin/x HTTP/1.1\r\nHost: x\r\n\r\n"
        raw = (b"POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(smuggled))) + smuggled
        self.assertRefused400AndClosed(raw)
        raw = (b"POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Length: 3\r\n\r\n0\r\n\r\n")
        self.assertRefused400AndClosed(raw)

    def test_smuggling_two_different_content_lengths(self):
        raw = b"POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
        self.assertRefused400AndClosed(raw)
        raw = b"POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!"
        self.assertRefused400AndClosed(raw)

    def test_smuggling_bad_chunk_size(self):
        raw = (b"POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"zz\r\nhello\r\n0\r\n\r\n")
        self.assertRefused400AndClosed(raw)

    def test_duplicate_identical_content_length_refused(self):
        # DESIGN §11: duplicate Content-Length -> 400, even when the values agree
        raw = b"POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        self.assertRefused400AndClosed(raw)

    def test_obs_fold_header_refused_or_unfolded(self):
        # RFC 9112 §5.2: reject with 400, or replace each obs-fold with SP before
        # forwarding. Either way a folded line never becomes a header of its own.
        raw = b"GET /public/x HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n X-User-Id: evil\r\n\r\n"
        with h.Conn(self.port) as c:
            c.send(raw)
            r = c.read_response()
            self.assertIn(r.status, (200, 400), r)
            if r.status == 200:
                self.assertEqual(h.echo_header_values(r, "X-User-Id"), [])
                folded = h.echo_header_values(r, "X-Folded")
                self.assertEqual(len(folded), 1, r)
                self.assertNotIn("\n", folded[0])
        self.assertServing()

    def test_absolute_form_target_refused(self):
        with h.Conn(self.port) as c:
            r = c.request("GET", "http://evil.example/public/x")
            self.assertEqual(r.status, 400, r)
        self.assertServing()

    def test_head_request_forwarded_without_body(self):
        with h.Conn(self.port) as c:
            r = c.request("HEAD", "/public/head")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"")
            r = c.request("GET", "/public/after-head")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["path"], "/public/after-head")

    def test_expect_100_continue_upload(self):
        body = os.urandom(300000)
        with h.Conn(self.port, timeout=10) as c:
            c.send(h.build_request("POST", "/public/expect", [("Expect", "100-continue"),
                                                              ("Content-Length", str(len(body)))], None, host="x"))
            c.settimeout(1.0)
            try:
                c._read_until(b"\r\n\r\n")  # an interim 100 Continue, if doorman sends one
                interim = True
            except OSError:
                interim = False
            c.settimeout(10)
            c.send(body)
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_size"], len(body), "interim response seen: %s" % interim)
            self.assertEqual(r.json()["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_bad_transfer_encoding_refused(self):
        raw = b"POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"
        with h.Conn(self.port) as c:
            c.send(raw)
            r = c.read_response()
            self.assertIn(r.status, (400, 501), r)
        self.assertServing()

    def test_malformed_request_line_400(self):
        for raw in (b"GARBAGE\r\n\r\n",
                    b"GET /public/x HTTP/1.1\r\nBad Header Name: x\r\n\r\n"):
            with self.subTest(raw=raw):
                with h.Conn(self.port) as c:
                    c.send(raw)
                    try:
                        r = c.read_response()
                        self.assertGreaterEqual(r.status, 400, r)
                        self.assertLess(r.status, 500, r)
                    except h.ConnectionClosed:
                        pass  # closing without an answer is acceptable for garbage
        self.assertServing()

    # ---------------------------------------------------------------- limits

    def test_header_larger_than_limit_431(self):
        with h.Conn(self.port) as c:
            r = c.request("GET", "/public/x", headers=[("X-Big", "a" * 10000)])
            self.assertEqual(r.status, 431, r)
        self.assertServing()

    def test_header_just_under_limit_ok(self):
        r = h.get(self.port, "/public/x", headers=[("X-Big", "a" * 6000)])
        self.assertEqual(r.status, 200, r)

    def test_auth_api_body_over_limit_413(self):
        body = b'{"email":"big@example.com","password":"' + b"p" * 70000 + b'"}'
        with h.Conn(self.port) as c:
            try:
                r = c.request("POST", "/auth/register", headers=[("Content-Type", "application/json")], body=body)
            except (BrokenPipeError, ConnectionResetError):
                self.fail("connection reset before a 413 was read")
            self.assertEqual(r.status, 413, r)
        # chunked, without a Content-Length up front
        with h.Conn(self.port) as c:
            c.send(h.build_request("POST", "/auth/register", [("Content-Type", "application/json"),
                                                             ("Transfer-Encoding", "chunked")], None, host="x"))
            try:
                c.send(b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = c.read_response()
            self.assertEqual(r.status, 413, r)
        self.assertServing()

    def test_proxied_body_not_limited_by_max_body_bytes(self):
        body = b"z" * 200000
        r = h.request(self.port, "POST", "/public/upload", body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_size"], len(body))

    def test_slow_header_connection_closed(self):
        with h.Conn(self.port, timeout=10) as c:
            c.send(b"GET /public/slow HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            start = time.monotonic()
            self.assertTrue(c.is_closed(6.0), "doorman kept a half-sent header open")
            elapsed = time.monotonic() - start
            self.assertGreater(elapsed, 0.5)
            self.assertLess(elapsed, 5.0)
            self.assertNotIn(b"200 OK", bytes(c.buf))
        self.assertServing()

    # ---------------------------------------------------------------- upstream faults

    def test_upstream_slow_504(self):
        start = time.monotonic()
        r = h.get(self.port, "/_echo/sleep?ms=3000")
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 504, r)
        self.assertLess(elapsed, 2.9)
        self.assertServing()

    def test_upstream_closes_without_answer_502(self):
        r = h.get(self.port, "/_echo/close")
        self.assertEqual(r.status, 502, r)
        self.assertServing()

    def test_upstream_down_502_then_recovers(self):
        up = self.stack.upstream
        # warm the pool so doorman holds idle connections to the old process
        for _ in range(3):
            self.assertServing()
        up.stop()
        try:
            for path in ("/public/down", "/api/down"):
                r = h.get(self.port, path, token=self.token)
                self.assertEqual(r.status, 502, r)
            # the auth API does not need the upstream
            r = h.get(self.port, "/users/me", token=self.token)
            self.assertEqual(r.status, 200, r)
        finally:
            self.stack.upstream = h.EchoUpstream(self.stack.tmp, self.stack.upstream_port, name="echo-restarted")
        # pooled connections to the dead process must not turn into errors
        for _ in range(4):
            self.assertServing()

    # ---------------------------------------------------------------- WebSocket

    def test_websocket_echo_with_token(self):
        with h.Conn(self.port, timeout=10) as c:
            resp, key = h.ws_handshake(c, "/ws/chat", [("Authorization", "Bearer " + self.token)])
            self.assertEqual(resp.status, 101, resp)
            self.assertEqual(resp.header("Sec-WebSocket-Accept"), h.ws_accept_for(key))
            for msg in ("hello doorman", "second message " + "y" * 300):
                c.send(h.ws_frame(msg))
                opcode, payload = h.ws_read_frame(c)
                self.assertEqual(opcode, 0x1)
                self.assertEqual(payload.decode(), msg)
            c.send(h.ws_frame(b"\x00\x01binary\xff", opcode=0x2))
            opcode, payload = h.ws_read_frame(c)
            self.assertEqual((opcode, payload), (0x2, b"\x00\x01binary\xff"))

    def test_websocket_without_token_401(self):
        with h.Conn(self.port, timeout=10) as c:
            resp, _ = h.ws_handshake(c, "/ws/chat")
            self.assertEqual(resp.status, 401, resp)

    def test_websocket_on_anonymous_path(self):
        with h.Conn(self.port, timeout=10) as c:
            resp, key = h.ws_handshake(c, "/public/ws")
            self.assertEqual(resp.status, 101, resp)
            c.send(h.ws_frame("ping"))
            self.assertEqual(h.ws_read_frame(c), (0x1, b"ping"))


class GracefulShutdownTest(h.DoormanTestCase):
    """SIGTERM: in-flight requests finish, then exit 0."""

    def test_sigterm_drains_in_flight_request(self):
        self.stack = h.Stack({"access": {"rules": [{"prefix": "/_echo/", "access": "anonymous"}]}})
        try:
            result = {}

            def slow():
                try:
                    result["resp"] = h.get(self.stack.port, "/_echo/sleep?ms=1500")
                except Exception as e:
                    result["error"] = e

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.4)  # let the request reach the upstream
            self.stack.doorman.signal(signal.SIGTERM)
            t.join(15)
            self.assertNotIn("error", result, result)
            r = result["resp"]
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["path"], "/_echo/sleep")
            code = self.stack.doorman.wait(10)
            self.assertEqual(code, 0, self.stack.logs())
            self.assertFalse(h.port_is_listening(self.stack.port))
        finally:
            self.stack.stop()


if __name__ == "__main__":
    h.main()
