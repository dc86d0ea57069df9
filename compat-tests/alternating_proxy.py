"""A tiny HTTP proxy that sends each request to the next of several upstreams in turn, as a round-robin
load balancer would: the compat suite run through it against two Harvester replicas on one PostgreSQL
and one S3 bucket checks that they behave as one server (no state that only one of them knows)."""
import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Not forwarded: they describe one connection, not the message.
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def _read_chunked(rfile):
    out = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += rfile.read(size)
        rfile.readline()


def start(upstreams):
    """Serve on a free loopback port; returns (url, counts per upstream, stop)."""
    turn = itertools.count()
    lock = threading.Lock()
    counts = [0] * len(upstreams)
    targets = [urlsplit(u) for u in upstreams]

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                i = next(turn) % len(targets)
                counts[i] += 1
            t = targets[i]
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP | {"content-length"}}
            if body or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(t.hostname, t.port, timeout=300)
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                res = conn.getresponse()
                data = res.read()
                self.send_response_only(res.status, res.reason)
                for k, v in res.getheaders():
                    if k.lower() not in HOP | {"content-length"}:
                        self.send_header(k, v)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                elif res.getheader("Content-Length"):
                    self.send_header("Content-Length", res.getheader("Content-Length"))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        def log_message(self, *a):
            pass

    class Server(ThreadingHTTPServer):
        # socketserver's default listen backlog is 5: a burst of concurrent clients (the serving
        # test sends 16 at once) overflows it and the kernel resets the connections it has no room for.
        request_queue_size = 128

    srv = Server(("127.0.0.1", 0), Forward)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}", counts, srv.shutdown
