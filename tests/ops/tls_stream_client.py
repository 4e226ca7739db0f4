#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
# A stream upload over TLS 1.3 ended by the client's close_notify (unwrap),
# then the reply read after it: SSLObject over memory BIOs, because
# SSLSocket.unwrap() waits for the server's close_notify and treats the reply
# before it as an error.
import socket, ssl, sys

def main(port, data, cafile=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)

    def flush():
        pending = out.read()
        if pending:
            sock.sendall(pending)

    def pump():
        got = sock.recv(65536)
        if got:
            inc.write(got)
        else:
            inc.write_eof()

    def until_done(step):
        while True:
            try:
                return step()
            except ssl.SSLWantReadError:
                flush()
                pump()

    until_done(obj.do_handshake)
    flush()
    for i in range(0, len(data), 16384):
        obj.write(data[i:i + 16384])
        flush()
    try:
        obj.unwrap()  # sends our close_notify: the end of the upload
    except ssl.SSLWantReadError:
        pass
    flush()
    reply = b""
    while True:
        try:
            chunk = until_done(lambda: obj.read(4096))
        except ssl.SSLZeroReturnError:
            break
        if not chunk:
            break
        reply += chunk
    sys.stdout.write(reply.decode())

if __name__ == "__main__":
    payload = sys.stdin.buffer.read()
    main(int(sys.argv[1]), payload, sys.argv[2] if len(sys.argv) > 2 else None)
