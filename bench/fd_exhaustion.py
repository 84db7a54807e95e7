#!/usr/bin/env python3
"""image-gateway under a small open-file limit (issue 16).

Starts the given image-gateway binary with `ulimit -n LIMIT` (soft and hard), opens more idle
connections than that, and prints: the gateway's start-up warning (max_connections lowered), the
CPU it used over one second in that state (utime+stime from /proc/<pid>/stat), what a new client
gets, and what /healthz answers once the idle connections are gone. Loopback only; the gateway is
stopped at the end.

Usage: bench/fd_exhaustion.py BINARY [--limit 64] [--idle 100]
"""
import argparse
import os
import socket
import sys
import tempfile
import time

from local_gateway import local_gateway


def first_line(port):
    client = socket.create_connection(("127.0.0.1", port))
    client.settimeout(5)
    client.send(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    try:
        return client.recv(4096).split(b"\r\n", 1)[0].decode() or "(closed without an answer)"
    except OSError as error:
        return f"(no answer: {error})"
    finally:
        client.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--idle", type=int, default=100)
    args = parser.parse_args()
    log = tempfile.TemporaryFile("w+")
    with local_gateway(args.binary, open_files=args.limit, stdout=log) as (gateway, port):
        def ticks():
            fields = open(f"/proc/{gateway.pid}/stat").read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])

        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
        time.sleep(1)
        before = ticks()
        time.sleep(1)
        used = (ticks() - before) / os.sysconf("SC_CLK_TCK")
        print(f"ulimit -n {args.limit}, {args.idle} idle connections")
        print(f"gateway CPU over 1 s in that state: {used:.2f} s")
        print(f"a new client gets: {first_line(port)}")
        for s in idle:
            s.close()
        time.sleep(0.5)
        print(f"/healthz once they are gone: {first_line(port)}")
    log.seek(0)
    print("gateway log (warn and above):")
    sys.stdout.write(log.read())


if __name__ == "__main__":
    sys.exit(main())
