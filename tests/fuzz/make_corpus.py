#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<dialect>/ from the conformance cases of
PROTOCOLS.md, in the script format documented in fuzz_driver.hpp (keep the two in step).
Template, path and header indices refer to the Profile of each <dialect>_fuzz.cpp."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def tpl(i):
    return bytes([0, i])


def raw(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([1, len(b)]) + b


def splice(i, pos, s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([2, i, pos, len(b)]) + b


def pad(i, n):
    return bytes([3, i, (n >> 8) & 255, n & 255])


def hdrs(headers):
    out = bytes([len(headers)])
    for name, value in headers:
        out += bytes([name]) + value
    return out


def up(path, query=tpl(0), headers=(), remote=0):
    return bytes([0 + 10 * remote, path]) + query + hdrs(headers)


def text(conn, spec):
    return bytes([1, conn]) + spec


def binary(conn, spec):
    return bytes([2, conn]) + spec


def http(method, path, query=tpl(0), headers=(), body=tpl(0), remote=0):
    return bytes([3 + 10 * remote, method, path]) + query + hdrs(headers) + body


def disconnect(conn):
    return bytes([4, conn])


def advance(t):
    return bytes([5, t])


def traffic(conn):
    return bytes([6, conn])


SHUTDOWN = bytes([7])
STOP_READING = bytes([8])
METRICS = bytes([9])


def opts(a=0, b=0):
    return bytes([a, b])


GET, POST, OPTIONS, HEAD, PUT = 0, 1, 2, 3, 4

FINGERSMITH = {
    "fs01-23-exchange": opts() + up(0, tpl(0)) + up(1, tpl(1)) + text(0, tpl(0)) + text(1, tpl(1)) + text(0, tpl(3)) + METRICS,
    "fs04-06-bad-fingers": opts() + b"".join(up(0, tpl(q)) for q in (4, 5, 6, 7, 8, 9, 10)) + up(2, tpl(0)) + up(3, tpl(0)),
    "fs05-decoding": opts() + up(0, tpl(2)) + up(0, tpl(3)) + up(1, tpl(0)) + text(2, tpl(10)) + text(2, raw('{"to":"zz","from":"alice"}')),
    "fs07-14-drops": opts() + up(0, tpl(0)) + up(0, tpl(1)) + b"".join(text(0, tpl(m)) for m in range(4, 14)) + binary(0, tpl(0)) + METRICS,
    "fs09-no-verify": opts(a=0x40) + up(0, tpl(0)) + up(0, tpl(1)) + text(0, tpl(9)) + text(0, raw('{"to":"bob"}')),
    "fs18-reject": opts() + up(0, tpl(0)) + up(0, tpl(0)) + disconnect(0) + up(0, tpl(0)),
    "fs19-replace": opts(a=1 << 3) + up(0, tpl(0)) + up(0, tpl(0)) + up(0, tpl(1)) + text(2, raw('{"to":"alice","from":"bob"}')),
    "fs20-allow": opts(a=2 << 3) + up(0, tpl(0)) + up(0, tpl(0)) + text(0, tpl(2)),
    "gen03-size": opts() + up(0, tpl(0)) + up(0, tpl(1)) + text(0, pad(0, 32740)) + text(0, pad(0, 32800)),
    "gen06-rate": opts(a=1) + up(0, tpl(0)) + up(0, tpl(1)) + text(0, tpl(0)) * 8 + advance(20) + text(0, tpl(0)),
    "gen11-origin": opts(a=0x80) + up(0, tpl(0), [(0, tpl(2))]) + up(0, tpl(1), [(0, tpl(1))]) + up(0, tpl(2), [(0, tpl(3))]) + http(GET, 2, tpl(7), [(0, tpl(2))]),
    "gen12-keepalive": opts() + up(0, tpl(0)) + up(0, tpl(1)) + advance(203) + traffic(0) + advance(203) + advance(203),
    "gen13-utf8": opts() + up(0, tpl(0)) + text(0, tpl(13)) + text(0, tpl(2)),
    "gen14-shutdown": opts() + up(0, tpl(0)) + up(0, tpl(1)) + SHUTDOWN + text(0, tpl(0)) + http(GET, 2, tpl(7)) + advance(201),
    "gen15-16-http": opts() + http(GET, 0, tpl(0)) + http(GET, 5, tpl(7)) + http(POST, 2, tpl(7)) + http(HEAD, 3, tpl(7)) + http(GET, 4, tpl(7)),
    "gen18-backpressure": opts(a=4) + up(0, tpl(0)) + up(0, tpl(1)) + STOP_READING + text(0, pad(0, 1000)) * 3 + text(0, tpl(0)),
    "caps": opts(b=0x10) + b"".join(up(0, raw("?finger=p%d" % i)) for i in range(6)) + up(0, raw("?finger=q"), remote=1),
    "head-limit": opts(b=0x80) + up(0, tpl(0), [(2, pad(0, 40))]),
}

CUTTLEFISH = {
    "cf-websocket-relay": opts() + up(0, tpl(0), [(1, tpl(0))]) + text(0, tpl(0)) + up(1) + text(1, tpl(8)) + text(1, tpl(10)) + text(0, tpl(4)) + disconnect(1) + text(0, tpl(4)) + METRICS,
    "cf-register-errors": opts() + up(0) + text(0, tpl(2)) + up(0) + text(1, tpl(3)) + up(0) + text(2, tpl(0)) + text(2, tpl(1)) + up(0) + text(3, tpl(0)),
    "cf-device-forward-errors": opts() + up(0) + text(0, tpl(0)) + text(0, tpl(5)) + up(0) + text(1, tpl(1)) + text(1, tpl(6)) + up(0) + text(2, tpl(0)) + text(2, tpl(7)),
    "cf-client-errors": opts() + up(1) + text(0, tpl(10)) + up(1) + text(1, tpl(9)) + up(1) + text(2, raw('{"message_type":"connect"}')) + up(1) + text(3, tpl(12)),
    "gen01-generic": opts() + up(0) + text(0, tpl(13)) + up(0) + text(1, tpl(14)) + up(0) + text(2, tpl(16)) + up(1) + binary(3, tpl(0)) + up(1) + text(4, tpl(15)),
    "gen17-depth": opts() + up(0) + text(0, tpl(0)) + up(1) + text(1, tpl(8)) + text(1, tpl(17)) + text(1, splice(17, 30, "[")),
    "cf-client-first": opts(b=1) + up(1) + text(0, tpl(8)) + up(0) + text(1, tpl(0)) + advance(203) + advance(203),
    "cf-polling": opts(b=0x40) + up(0) + text(0, tpl(0)) + http(POST, 1, body=tpl(18)) + http(POST, 2, body=tpl(21)) + text(0, tpl(4)) + http(POST, 3, body=tpl(22)) + http(POST, 2, body=tpl(23)) + http(POST, 2, body=tpl(24)) + advance(207) + http(POST, 3, body=tpl(22)),
    "cf-polling-errors": opts(b=0x30) + http(POST, 1, body=tpl(19)) + http(POST, 1, body=tpl(20)) + http(POST, 1, body=tpl(26)) + http(POST, 2, body=tpl(25)) + http(POST, 1, body=pad(18, 40000)),
    "cf-polling-orphan": opts(b=0x20) + up(0) + text(0, tpl(0)) + http(POST, 1, body=tpl(18)) + text(0, tpl(4)) * 4 + disconnect(0) + http(POST, 2, body=tpl(21)) + http(POST, 3, body=tpl(22)),
    "cf-http-misc": opts() + http(GET, 0) + http(OPTIONS, 1) + http(GET, 4) + http(GET, 1) + http(PUT, 2) + http(GET, 5),
    "gen14-shutdown": opts() + up(0) + text(0, tpl(0)) + up(1) + text(1, tpl(8)) + SHUTDOWN + text(0, tpl(4)) + advance(201),
    "gen19-secret": opts() + up(0) + text(0, tpl(1)) + up(1) + text(1, raw('{"message_type":"connect","device_id":"zz-secret-device"}')) + METRICS,
}

ROOMS = {
    "rm-welcome-relay": opts() + up(0) + up(0) + text(0, tpl(0)) + text(1, tpl(1)) + text(1, tpl(5)) + text(0, tpl(6)) + text(0, tpl(7)) + disconnect(1) + METRICS,
    "rm-register-errors": opts() + up(0) + text(0, tpl(2)) + up(0) + text(1, tpl(3)) + up(0) + text(2, tpl(4)) + text(2, tpl(0)) + text(2, tpl(0)),
    "rm-duplicate-reject": opts() + up(0) + up(0) + text(0, tpl(0)) + text(1, tpl(0)),
    "rm-duplicate-replace": opts(a=0x20) + up(0) + up(0) + up(0) + text(0, tpl(0)) + text(2, tpl(1)) + text(1, tpl(0)),
    "rm-room-full": opts(b=0x10) + up(0) + up(0) + up(0) + text(0, tpl(0)) + text(1, tpl(1)) + text(2, tpl(2)),
    "gen02-escaping": opts() + up(0) + text(0, tpl(0)) + text(0, tpl(8)) + text(0, tpl(9)) + text(0, tpl(11)) + text(0, tpl(12)) + text(0, tpl(13)) + text(0, tpl(14)),
    "rm-unregistered": opts() + up(0) + text(0, tpl(5)) + binary(0, tpl(0)),
    "rm-paths": opts() + b"".join(up(p) for p in range(8)) + http(GET, 0),
    "rm-big-key": opts(b=0x20) + up(0) + text(0, pad(0, 100)) + text(0, tpl(1)),
    "gen14-shutdown": opts() + up(1) + up(1) + text(0, tpl(0)) + text(1, tpl(1)) + SHUTDOWN + text(0, tpl(5)) + advance(201),
}

A_ALICE, A_BOB, A_ALICE_BAD, A_SECRET, A_COLONS, A_NOCOLON, A_BADB64, A_BEARER = (tpl(i) for i in range(8))
MAILBOX = {
    "mb-deliver-long-poll": opts() + http(GET, 0, tpl(0), [(0, A_ALICE)]) + http(POST, 0, tpl(1), [(0, A_BOB)], tpl(0)) + http(GET, 0, tpl(0), [(0, A_ALICE)]) + advance(203) + disconnect(2),
    "mb-queue-then-get": opts() + http(GET, 0, tpl(0), [(0, A_ALICE)]) + advance(203) + http(POST, 0, tpl(1), [(0, A_BOB)], tpl(2)) + http(GET, 0, tpl(0), [(0, A_ALICE)]),
    "mb-auth-errors": opts() + http(GET, 0) + http(GET, 0, tpl(0), [(0, A_ALICE)]) + http(GET, 0, tpl(0), [(0, A_ALICE_BAD)]) + http(GET, 0, tpl(0), [(0, A_NOCOLON)]) + http(GET, 0, tpl(0), [(0, A_BADB64)]) + http(GET, 0, tpl(0), [(0, A_BEARER)]) + http(GET, 0, tpl(0), [(0, A_COLONS)]),
    "mb-post-errors": opts(b=0x02) + http(POST, 0, tpl(1), [(0, A_BOB)]) + http(POST, 0, tpl(4), [(0, A_BOB)]) + http(POST, 0, tpl(5), [(0, A_BOB)]) + http(POST, 0, tpl(6), [(0, A_BOB)]) + http(POST, 0, tpl(1), [(0, A_BOB)], pad(0, 33000)),
    "mb-methods-cors": opts(b=0x04) + http(OPTIONS, 0) + http(HEAD, 0) + http(PUT, 0) + http(GET, 1) + http(OPTIONS, 0, raw("?to=%zz")) + http(GET, 0, tpl(0), [(1, tpl(8))]),
    "mb-capacity-expiry": opts(b=0x22) + http(GET, 0, tpl(0), [(0, A_ALICE)]) + http(POST, 0, tpl(1), [(0, A_BOB)], tpl(0)) * 3 + advance(207) + http(GET, 0, tpl(0), [(0, A_ALICE)]),
    "mb-max-inboxes": opts(b=0x12) + http(GET, 0, tpl(0), [(0, A_ALICE)]) + http(GET, 0, tpl(0), [(0, A_BOB)]) + http(GET, 0, tpl(0), [(0, A_COLONS)]),
    "gen08-rate": opts(a=1) + http(OPTIONS, 0) * 8 + http(OPTIONS, 0, remote=1),
    "gen14-shutdown": opts() + http(GET, 0, tpl(0), [(0, A_ALICE)]) + SHUTDOWN + http(POST, 0, tpl(1), [(0, A_BOB)], tpl(0)) + advance(201),
    "gen19-secret": opts() + http(GET, 0, tpl(0), [(0, A_SECRET)]) + http(POST, 0, tpl(7), [(0, A_BOB)], tpl(0)) + METRICS,
    "upgrade-on-inbox": opts() + up(0),
}


def main():
    for dialect, cases in (("fingersmith", FINGERSMITH), ("cuttlefish", CUTTLEFISH),
                           ("rooms", ROOMS), ("mailbox", MAILBOX)):
        out = os.path.join(HERE, "corpus", dialect)
        os.makedirs(out, exist_ok=True)
        for name, data in cases.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
