#!/usr/bin/env python3
"""Memory of image-gateway under N slow senders of large multipart bodies (issue 16).

Starts the given image-gateway binary on 127.0.0.1 with a throw-away config, opens N connections
that each declare a 1.2 MB multipart/form-data body (with or without the app's credentials), send
the header and 16 KiB of the body, then trickle 1 KiB per connection per second for --hold
seconds (or, with --fast, push the rest of the body as fast as the gateway takes it). Prints the gateway's VmRSS (from /proc/<pid>/status) before, at its peak while the
senders hold on, and the answers they got by status line. Loopback only; the gateway is stopped
at the end.

Usage: bench/slow_senders.py BINARY [--senders 500] [--hold 5] [--auth] [--fast]
"""
import argparse
import base64
import resource
import socket
import sys
import time

from local_gateway import APP_KEY, APP_SECRET, local_gateway



def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--hold", type=float, default=5)
    parser.add_argument("--auth", action="store_true")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with local_gateway(args.binary) as (gateway, port):
        before = rss_kib(gateway.pid)
        credentials = ""
        if args.auth:
            token = base64.b64encode(f"{APP_KEY}:{APP_SECRET}".encode()).decode()
            credentials = f"Authorization: Basic {token}\r\n"
        head = ("POST /v4/image/oppo HTTP/1.1\r\nHost: bench\r\n" + credentials +
                "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1200000\r\n\r\n")
        first = b"x" * 16384
        senders = []
        for _ in range(args.senders):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            try:
                s.send(head.encode() + first)
            except OSError:
                pass
            senders.append(s)
        peak = rss_kib(gateway.pid)
        piece = b"y" * (65536 if args.fast else 1024)
        answers = {}
        answered = set()
        until = time.monotonic() + args.hold
        while time.monotonic() < until:
            for i, s in enumerate(senders):
                try:
                    s.send(piece)
                except OSError:
                    pass
                if i in answered:
                    continue
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                line = data.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"
                answers[line] = answers.get(line, 0) + 1
                answered.add(i)
            peak = max(peak, rss_kib(gateway.pid))
            time.sleep(0.01 if args.fast else 1)
        answers["(no answer yet: body being read)"] = len(senders) - len(answered)
        for s in senders:
            s.close()
        print(f"senders: {args.senders} {'with' if args.auth else 'without'} credentials, "
              f"1.2 MB declared, 16 KiB sent, then "
              f"{'the rest as fast as taken' if args.fast else '1 KiB/s'} for {args.hold:g} s")
        print(f"gateway VmRSS: before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
              f"growth {(peak - before) / 1024:.1f} MiB")
        for line, count in sorted(answers.items()):
            print(f"  {count:4d}  {line}")


if __name__ == "__main__":
    sys.exit(main())
