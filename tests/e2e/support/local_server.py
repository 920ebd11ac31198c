"""How the chain and node stand-ins of tests/e2e/support listen and announce themselves.

serve(Handler, port) listens on 127.0.0.1:<port> (0: any free port) and prints "PORT <n>";
serve(Handler, unix_socket=PATH) listens on a unix socket (an old one is removed first) and
prints "SOCKET <path>". Each request gets its own daemon thread, so a request a test makes hang
never holds up the next one nor the server's exit. Returns 0 after Ctrl-C.
"""
import http.server
import os
import socketserver


class TcpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(handler, port=0, unix_socket=None):
    if unix_socket:
        if os.path.exists(unix_socket):
            os.unlink(unix_socket)
        server = UnixServer(unix_socket, handler)
        print("SOCKET " + unix_socket, flush=True)
    else:
        server = TcpServer(("127.0.0.1", port), handler)
        print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
