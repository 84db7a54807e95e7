#!/usr/bin/env python3
"""Writes worst-case PNGs for the benchmark: the exact pixel sizes OPPO requires, with byte sizes
just under the limits (image-gateway's defaults: 1,048,576 and 51,200 bytes).

The pixels are mostly seeded noise, so zlib cannot shrink them, like a photo; the rest is flat
colour, which is how the byte size is tuned. Usage: make_images.py DIR [--big-bytes N] [--small-bytes N]
"""
import argparse
import random
import struct
import zlib
from pathlib import Path


def png(width: int, height: int, noisy_rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    flat = bytes([0]) + bytes([200, 120, 40]) * width
    raw = bytearray()
    for row in range(height):
        if row < noisy_rows:
            raw += b"\x00" + rng.randbytes(3 * width)
        else:
            raw += flat

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def largest_under(width: int, height: int, limit: int, seed: int) -> bytes:
    """The PNG with the most noisy rows that still fits in `limit` bytes (binary search)."""
    low, high, best = 0, height, png(width, height, 0, seed)
    while low <= high:
        middle = (low + high) // 2
        candidate = png(width, height, middle, seed)
        if len(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory")
    parser.add_argument("--big-bytes", type=int, default=1_048_576 - 1024)
    parser.add_argument("--small-bytes", type=int, default=51_200 - 512)
    args = parser.parse_args()
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "big.png").write_bytes(largest_under(984, 369, args.big_bytes, seed=1))
    (out / "small.png").write_bytes(largest_under(144, 144, args.small_bytes, seed=2))


if __name__ == "__main__":
    main()
