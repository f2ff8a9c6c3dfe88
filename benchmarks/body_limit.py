"""Server memory under oversized request bodies: concurrent 100 MB POSTs to /v1/feedback.

    python benchmarks/body_limit.py [--dir WORKDIR] [--accounts 1000] [--bodies 4] [--mb 100]
                                    [--max-body-bytes N]

Generates a small data set and trains a model (reused when ``--dir`` has them), starts
``symbiose serve`` on loopback, then sends ``--bodies`` concurrent POSTs of ``--mb`` MB each
without a token, once with ``Content-Length`` and once chunked (no length), streaming 1 MiB
pieces until the server answers or closes. Prints the server's resident memory before, at its
peak (sampled every 20 ms) and after, each answer's status, how much of each body was sent
before the server stopped it, and the time to the answer.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving_load import ROOT, _free_port, _wait, prepare  # noqa: E402

PIECE = b"x" * (1024 * 1024)


def _post(port: int, size: int, chunked: bool) -> tuple[str, int, float]:
    """(status line, bytes of body sent, seconds to the answer) of one oversized POST."""
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(f"POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"{framing}\r\n\r\n".encode())
    sent = 0
    answer = b""
    sock.setblocking(False)
    try:
        while sent < size:
            try:
                answer += sock.recv(65536)
                if answer:
                    break
            except BlockingIOError:
                pass
            piece = PIECE[:min(len(PIECE), size - sent)]
            frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            sock.setblocking(True)
            sock.sendall(frame)
            sock.setblocking(False)
            sent += len(piece)
        if chunked and sent >= size:
            sock.setblocking(True)
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    try:
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return answer.split(b"\r\n", 1)[0].decode(errors="replace"), sent, time.perf_counter() - started


def _round(port: int, proc: psutil.Process, bodies: int, size: int, chunked: bool) -> dict:
    before = proc.memory_info().rss
    peak = before
    results: list[tuple[str, int, float]] = []
    threads = [threading.Thread(target=lambda: results.append(_post(port, size, chunked))) for _ in range(bodies)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.02)
    time.sleep(0.5)
    return {"before": before, "peak": peak, "after": proc.memory_info().rss, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(".symbiose-bench/body-limit"),
                        help="working directory for the generated data and the server's home")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--max-body-bytes", type=int, default=None,
                        help="SYMBIOSE_MAX_BODY_BYTES of the server (default: the setting's default)")
    args = parser.parse_args()
    workdir = args.dir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["SYMBIOSE_HOME"] = str(workdir / "home")
    data, uri = prepare(workdir, args.accounts, seed=3)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMBIOSE_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "SYMBIOSE_ACCESS_LOG": "false", "SYMBIOSE_MODEL_POLL_SECONDS": "0"}
    if args.max_body_bytes is not None:
        env["SYMBIOSE_MAX_BODY_BYTES"] = str(args.max_body_bytes)
    log = workdir / "server.log"
    server = subprocess.Popen([sys.executable, "-m", "serving.cli", "serve", "--data", str(data), "--model", uri,
                               "--port", str(port)], cwd=ROOT, env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/health", server, log)
        proc = psutil.Process(server.pid)
        size = args.mb * 1024 * 1024
        mib = 1024 * 1024
        print(f"{args.bodies} concurrent POST /v1/feedback of {args.mb} MB each, no token; server limit "
              f"{env.get('SYMBIOSE_MAX_BODY_BYTES', 'default')}")
        for chunked in (False, True):
            got = _round(port, proc, args.bodies, size, chunked)
            framing = "chunked" if chunked else "Content-Length"
            print(f"{framing:>14}: server RSS before {got['before'] / mib:.0f} MiB, peak {got['peak'] / mib:.0f} MiB, "
                  f"after {got['after'] / mib:.0f} MiB")
            for status, sent, seconds in got["results"]:
                print(f"{'':>16}{status} after {sent / mib:.0f} MiB sent, {seconds:.2f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
