"""A keep-alive HTTP/1.1 load generator, run in a process of its own.

``python -m tests.bench.loadgen PORT CLIENTS CODES_FILE`` posts one pickup per code
over ``CLIENTS`` persistent connections and prints a JSON object: the latency of
each pickup (ms, request written -> answer read), the elapsed time and any failure.
Raw asyncio streams keep the generator's own cost per request small.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

TOKEN = "demo-kiosk"


def _request(port: int, code: str) -> bytes:
    body = json.dumps({"code": code}).encode()
    head = (
        f"POST /api/v1/pickups HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client(port: int, codes: list[str], out: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for code in codes:
            start = time.perf_counter()
            writer.write(_request(port, code))
            status = await _answer(reader)
            out.append((time.perf_counter() - start) * 1000)
            if status != 200:
                errors.append(f"HTTP {status}")
    finally:
        writer.close()


async def run(port: int, clients: int, codes: list[str]) -> dict[str, object]:
    shares = [codes[i::clients] for i in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(_client(port, share, latencies, errors) for share in shares))
    elapsed = time.perf_counter() - start
    return {"latencies_ms": latencies, "elapsed_s": elapsed, "errors": errors[:10]}


def main() -> None:
    port, clients, codes_file = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    codes = json.loads(codes_file.read_text())
    print(json.dumps(asyncio.run(run(port, clients, codes))))


if __name__ == "__main__":
    main()
