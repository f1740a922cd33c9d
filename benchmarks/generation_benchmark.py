"""Generation client benchmark: throughput against a server of known capacity, and the RPM limit.

The server is the scripted OpenAI-compatible one (``tests/support/scripted_openai.py``) on
127.0.0.1, in a process of its own (``scripted_openai_remote``: its threads do not share the
client's GIL), with a fixed per-request ``--latency`` and a ``--capacity`` (at most C requests
answered at once, the rest queue), so its throughput at client concurrency k can be at most
``min(k, C) / latency``. The client is the real one: ``OpenAIBackend`` over ``AsyncOpenAI``,
``GenerationClient`` with its SQLite response cache in a temporary directory (a fresh cache per
arm, so every request is sent and stored).

1. **throughput**: for each ``--concurrency`` k, ``--rounds * k`` requests; the ratio is the
   ideal time (``ceil(requests / min(k, C)) * latency``) over the measured one (target >= 0.8).
   The same requests also go through a **bare** ``AsyncOpenAI`` loop (a semaphore of k,
   ``gather``, no cache, no retries): the baseline for what the client itself costs;
   the client's CPU time per request is reported too. Each arm runs ``--repeat`` times and the
   best run counts (the machine is shared: the best run is the one least disturbed);
2. **rate limit**: ``--rpm-requests`` requests through ``GenerationClient(rpm=--rpm)`` at
   concurrency 16 against a fast server; the RPM is measured from the server's arrival times
   (after one warm-up request), overall and over the busiest window of 20 intervals; the error is
   relative to the set RPM (target within 5 %). The default of 1,200 RPM over 200 requests
   takes 10 s.

    python benchmarks/generation_benchmark.py                     # ~30 s
    python benchmarks/generation_benchmark.py --rounds 2 --rpm-requests 30   # quick check

Writes ``generation_benchmark.json`` and ``generation_benchmark.md`` to ``--output-dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from octopack_common import write_json_atomic, write_text_atomic  # noqa: E402
from commitpack_dataset.generation import GenerationClient, GenerationRequest, OpenAIBackend  # noqa: E402
from tests.support.scripted_openai_remote import RemoteScriptedServer  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request (0.2)")
    parser.add_argument("--capacity", type=int, default=16,
                        help="requests the server answers at once (16)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64],
                        help="client concurrency levels (1 16 64)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="requests per arm = rounds x concurrency (10)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per throughput arm; the best counts (3)")
    parser.add_argument("--rpm", type=float, default=1200.0, help="requests per minute to hold (1200)")
    parser.add_argument("--rpm-requests", type=int, default=200,
                        help="requests sent under the RPM limit (200)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "benchmarks" / "results")
    return parser.parse_args(argv)


def requests(prefix: str, count: int) -> list[GenerationRequest]:
    return [GenerationRequest(model="scripted-model", prompt=f"{prefix} {i}", max_tokens=16)
            for i in range(count)]


def client_for(server: RemoteScriptedServer, cache: Path, **options: Any) -> GenerationClient:
    backend = OpenAIBackend(server.base_url, api_key="benchmark", timeout=120)
    return GenerationClient(backend, cache=cache, progress=False, **options)


def throughput(server: RemoteScriptedServer, latency: float, capacity: int, concurrency: int,
               rounds: int, cache: Path) -> dict[str, Any]:
    count = rounds * concurrency
    with client_for(server, cache, concurrency=concurrency) as client:
        client.generate(requests(f"warm-up {cache.stem}", 1))
        server.reset()
        started, cpu = time.perf_counter(), time.process_time()
        results = client.generate(requests(f"c{concurrency}", count))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = server.stats()
    assert all(result.ok for result in results) and stats["count"] == count
    parallel = min(concurrency, capacity)
    ideal = math.ceil(count / parallel) * latency
    return {"concurrency": concurrency, "requests": count, "seconds": round(seconds, 3),
            "requests_per_second": round(count / seconds, 2),
            "ideal_requests_per_second": round(count / ideal, 2),
            "ratio": round(ideal / seconds, 3), "server_max_in_flight": stats["max_in_flight"],
            "client_cpu_ms_per_request": round(cpu / count * 1000, 2)}


def bare_throughput(server: RemoteScriptedServer, latency: float, capacity: int,
                    concurrency: int, rounds: int) -> dict[str, Any]:
    """The same requests through a bare ``AsyncOpenAI`` loop: a semaphore, gather, nothing else."""
    import openai

    count = rounds * concurrency

    async def run() -> tuple[float, float]:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="benchmark", max_retries=0,
                                    timeout=120)
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> dict:
            async with gate:
                raw = await client.completions.with_raw_response.create(
                    model="scripted-model", prompt=prompt, max_tokens=16, n=1, temperature=0.0,
                    top_p=1.0)
                return json.loads(raw.text)

        await one("warm-up bare")
        server.reset()
        started, cpu = time.perf_counter(), time.process_time()
        answers = await asyncio.gather(*(one(f"bare{concurrency} {i}") for i in range(count)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        await client.close()
        assert all(a["choices"][0]["finish_reason"] == "stop" for a in answers)
        return seconds, cpu

    seconds, cpu = asyncio.run(run())
    ideal = math.ceil(count / min(concurrency, capacity)) * latency
    return {"seconds": round(seconds, 3), "ratio": round(ideal / seconds, 3),
            "client_cpu_ms_per_request": round(cpu / count * 1000, 2)}


def rate_limit(rpm: float, count: int, work_dir: Path) -> dict[str, Any]:
    with RemoteScriptedServer(latency=0.005) as server:
        with client_for(server, work_dir / "rpm.sqlite", concurrency=16, rpm=rpm) as client:
            client.generate(requests("warm-up", 1))
            time.sleep(60.0 / rpm)
            server.reset()
            client.generate(requests("rpm", count))
        arrivals = sorted(request["received_at"] for request in server.requests())
    intervals = len(arrivals) - 1
    measured = intervals / (arrivals[-1] - arrivals[0]) * 60.0
    window = min(20, intervals)
    peak = max(window / (arrivals[i + window] - arrivals[i]) * 60.0
               for i in range(len(arrivals) - window))
    return {"rpm_set": rpm, "requests": count, "seconds": round(arrivals[-1] - arrivals[0], 3),
            "rpm_measured": round(measured, 1),
            "error_percent": round(abs(measured - rpm) / rpm * 100, 2),
            "peak_window_intervals": window, "peak_window_rpm": round(peak, 1),
            "peak_error_percent": round(abs(peak - rpm) / rpm * 100, 2)}


def markdown(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [f"Server: {settings['latency']} s per request, capacity {settings['capacity']} "
             "at once.", "",
             "| concurrency | requests | seconds | req/s | ideal req/s | ratio (best) | all runs | "
             "client CPU/req | bare loop ratio | bare CPU/req | ours / bare |",
             "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for row in report["throughput"]:
        lines.append(f"| {row['concurrency']} | {row['requests']} | {row['seconds']:.2f} | "
                     f"{row['requests_per_second']:.1f} | {row['ideal_requests_per_second']:.1f} | "
                     f"{row['ratio']:.2f}x | "
                     f"{', '.join(f'{r:.2f}' for r in row['ratios_of_all_runs'])} | "
                     f"{row['client_cpu_ms_per_request']:.1f} ms | {row['bare_ratio']:.2f}x | "
                     f"{row['bare_client_cpu_ms_per_request']:.1f} ms | "
                     f"{row['ours_over_bare']:.2f} |")
    limit = report["rate_limit"]
    lines += ["", "| RPM set | requests | RPM measured | error | busiest window RPM | error |",
              "|---:|---:|---:|---:|---:|---:|",
              f"| {limit['rpm_set']:g} | {limit['requests']} | {limit['rpm_measured']:.1f} | "
              f"{limit['error_percent']:.2f} % | {limit['peak_window_rpm']:.1f} | "
              f"{limit['peak_error_percent']:.2f} % |"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if min(args.capacity, args.rounds, args.repeat) < 1 or args.rpm_requests < 3 or args.latency <= 0:
        raise SystemExit("--capacity, --rounds and --repeat must be >= 1, --rpm-requests >= 3, "
                         "--latency > 0")
    with tempfile.TemporaryDirectory(prefix="generation-benchmark-") as work, \
            RemoteScriptedServer(latency=args.latency, capacity=args.capacity) as server:
        work_dir = Path(work)
        rows = []
        for concurrency in args.concurrency:
            runs, bare_runs = [], []
            for run in range(args.repeat):  # alternated, so both see the same machine
                runs.append(throughput(server, args.latency, args.capacity, concurrency,
                                       args.rounds, work_dir / f"c{concurrency}-run{run}.sqlite"))
                bare_runs.append(bare_throughput(server, args.latency, args.capacity,
                                                 concurrency, args.rounds))
            best = max(runs, key=lambda row: row["ratio"])
            bare = max(bare_runs, key=lambda row: row["ratio"])
            rows.append({**best, "ratios_of_all_runs": [row["ratio"] for row in runs],
                         "bare_ratio": bare["ratio"],
                         "bare_ratios_of_all_runs": [row["ratio"] for row in bare_runs],
                         "bare_client_cpu_ms_per_request": bare["client_cpu_ms_per_request"],
                         "ours_over_bare": round(best["ratio"] / bare["ratio"], 3)})
            print(f"concurrency {concurrency:>3}: {rows[-1]['requests_per_second']:8.1f} req/s, "
                  f"{rows[-1]['ratio']:.2f}x the server's capacity at that concurrency "
                  f"(bare AsyncOpenAI loop {bare['ratio']:.2f}x)", flush=True)
        limit = rate_limit(args.rpm, args.rpm_requests, work_dir)
        print(f"rate limit {args.rpm:g} RPM: measured {limit['rpm_measured']:.1f} "
              f"({limit['error_percent']:.2f} % off; busiest window {limit['peak_window_rpm']:.1f})",
              flush=True)
    report = {"settings": {"latency": args.latency, "capacity": args.capacity,
                           "rounds": args.rounds, "repeat": args.repeat},
              "throughput": rows, "rate_limit": limit}
    write_json_atomic(args.output_dir / "generation_benchmark.json", report)
    write_text_atomic(args.output_dir / "generation_benchmark.md", markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
