"""An open-loop HTTP/1.1 load generator on asyncio streams, run as its own process so its CPU is
not the server's GIL: requests are *scheduled* at a fixed rate and each latency is measured from
its scheduled start (a slow server cannot slow the generator down and hide its queueing).

    python bench/loadgen.py URL --rate 200 --seconds 10 [--method POST --body '{...}']
        [--header 'Authorization: Kiosk ...'] [--connections 64] [--trace FILE]

Prints one JSON line: {"sent", "ok", "errors", "rps", "p50_ms", "p99_ms", "max_ms"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


async def _one(
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    raw: bytes,
    host: str,
    port: int,
) -> int:
    try:
        reader, writer = pool.get_nowait()
    except asyncio.QueueEmpty:
        return await _send(await asyncio.open_connection(host, port), pool, raw)
    try:
        return await _send((reader, writer), pool, raw)
    except (OSError, asyncio.IncompleteReadError, IndexError):
        # A kept-alive connection the server closed meanwhile (a recycled worker): a new one.
        writer.close()
        return await _send(await asyncio.open_connection(host, port), pool, raw)


async def _send(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    raw: bytes,
) -> int:
    reader, writer = connection
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    pool.put_nowait((reader, writer))
    return int(status_line.split()[1])


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = args.body.encode() if args.body else b""
    head = [f"{args.method} {url.path}{'?' + url.query if url.query else ''} HTTP/1.1"]
    head += [f"Host: {host}:{port}", "Connection: keep-alive", *args.header]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    limit = asyncio.Semaphore(args.connections)
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    trace: list[tuple[float, float]] = []

    async def scheduled(at: float) -> None:
        nonlocal errors
        async with limit:
            try:
                status = await _one(pool, raw, host, port)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                errors += 1
                statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                return
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status >= 400:
            errors += 1
            return
        latencies.append((time.perf_counter() - at) * 1000)
        trace.append((round(at - loop_start, 4), round(latencies[-1], 2)))

    loop_start = time.perf_counter()
    total = int(args.rate * args.seconds)
    tasks = []
    for i in range(total):
        at = loop_start + i / args.rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(scheduled(at)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - loop_start
    if args.trace:
        with open(args.trace, "w") as out:
            out.writelines(f"{at} {ms}\n" for at, ms in sorted(trace))
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "sent": total,
        "ok": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49], 2),
        "p99_ms": round(quantiles[98], 2),
        "max_ms": round(max(latencies or [0.0]), 2),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--trace", help="write 'scheduled_s latency_ms' per request to this file")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
