"""Evaluation-runner generation benchmark: the local transformers backend against bare
``model.generate`` loops, and the endpoint path against a server of known capacity.

**(a) local** -- ``--prompts`` HumanEvalPack Synthesize prompts (OctoCoder format, six
languages, so their lengths vary), ``--samples`` samples each at T=0.2, exactly ``--tokens`` new
tokens per sequence (``min_new_tokens``; the stop strings given can never match, so the stop
watcher still detokenizes every step as in a real run), ``--batch-size`` sequences per call:

* ``backend``: ``TransformersBackend.generate_batch`` (length-sorted batches, the samples of a
  prompt via ``num_return_sequences``, per-sequence seeded sampling, per-row stop watching);
* ``bare``: the same batches through a bare ``model.generate(do_sample=True,
  num_return_sequences=n)`` -- the baseline for what the backend itself costs (target: backend
  tokens/s >= 0.9x bare);
* ``unsorted``: bare, but batches formed in the prompts' given order (the gain of sorting);
* ``naive``: one ``model.generate`` per prompt and sample (the gain of batching and
  ``num_return_sequences``).

Arms alternate for ``--repeat`` rounds and the fastest round of each counts. Torch runs on
``--threads`` threads (default 1), so the ratios are taken on CPU time, which other processes on
a shared machine do not inflate; wall-clock rates are reported too.

**(b) endpoint** -- the runner's own request building (:mod:`octo_trainer.evaluation.generate`,
HumanEvalPack prompts) and the one generation client with its OpenAI backend, against the
scripted OpenAI-compatible server in its own process (``tests/support/scripted_openai_remote``)
with a fixed ``--latency`` per request and a ``--capacity`` C (requests answered at once): at
client concurrency k its throughput is at most min(k, C) / latency (target >= 0.8x). The same
setting as ``benchmarks/generation_benchmark.py``, which also measures the client against a bare
``AsyncOpenAI`` loop.

    python benchmarks/eval_generation_benchmark.py                 # ~2 min
    python benchmarks/eval_generation_benchmark.py --prompts 4 --tokens 8 --repeat 1 --rounds 1

Writes ``eval_generation_benchmark.json`` and ``.md`` to ``--output-dir``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from octopack_common import write_json_atomic, write_text_atomic  # noqa: E402

NEVER = ("\x00never-emitted\x00",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model directory (default: the tiny model)")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "OCTOPACK_TEST_DATA", REPO.parent / "shared" / "data")) / "humanevalpack")
    parser.add_argument("--prompts", type=int, default=16, help="prompts (16)")
    parser.add_argument("--samples", type=int, default=4, help="samples per prompt (4)")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per sequence (64)")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per call (16)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the local arms (3)")
    parser.add_argument("--latency", type=float, default=0.2, help="endpoint seconds per request")
    parser.add_argument("--capacity", type=int, default=16, help="endpoint capacity (16)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--skip-local", action="store_true", help="only the endpoint arms")
    parser.add_argument("--rounds", type=int, default=4, help="endpoint requests = rounds x k (4)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "benchmarks" / "results")
    return parser.parse_args(argv)


def prompts(data_dir: Path, count: int) -> list[str]:
    from humanevalpack_metric.problems import load_problems
    from octo_trainer.evaluation.prompts import humanevalpack_items
    from octo_trainer.formats import get_format

    languages = ["python", "js", "java", "go", "cpp", "rust"]
    items = [humanevalpack_items("synthesize", lang, load_problems(lang, data_dir)[:count],
                                 get_format("octocoder"), 1)[i % count]
             for i, lang in zip(range(count), languages * count)]
    return [item.prompt for item in items]


# -- (a) the local backend --------------------------------------------------------------------
def local_arms(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from commitpack_dataset.generation import GenerationRequest
    from commitpack_dataset.generation.transformers_backend import TransformersBackend

    torch.set_num_threads(args.threads)
    if args.model is None:
        from octo_trainer.tiny import build_tiny_model

        args.model = str(build_tiny_model())
    backend = TransformersBackend(args.model, batch_size=args.batch_size)
    model, tokenizer = backend.model, backend.tokenizer
    texts = prompts(args.data_dir, args.prompts)
    n, tokens = args.samples, args.tokens
    requests = [GenerationRequest(model="bench", prompt=text, n=n, temperature=0.2, top_p=0.95,
                                  max_tokens=tokens, stop=NEVER, seed=0,
                                  extra={"min_new_tokens": tokens}) for text in texts]
    encoded = [tokenizer(text)["input_ids"] for text in texts]
    per_call = max(1, args.batch_size // n)
    # top_k=0 as the harness passes it (GenerationConfig's default would be 50)
    options = dict(do_sample=True, temperature=0.2, top_p=0.95, top_k=0, max_new_tokens=tokens,
                   min_new_tokens=tokens, pad_token_id=tokenizer.pad_token_id)

    def batches(order):
        return [order[i : i + per_call] for i in range(0, len(order), per_call)]

    def bare(order) -> None:
        for batch in batches(order):
            width = max(len(encoded[i]) for i in batch)
            ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(encoded[i])) + encoded[i]
                                for i in batch])
            mask = torch.tensor([[0] * (width - len(encoded[i])) + [1] * len(encoded[i])
                                 for i in batch])
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=mask,
                                     num_return_sequences=n, **options)
            assert out.shape[1] - width == tokens

    def naive() -> None:
        for i in range(len(encoded)):
            for _ in range(n):
                with torch.no_grad():
                    model.generate(input_ids=torch.tensor([encoded[i]]),
                                   attention_mask=torch.ones(1, len(encoded[i]), dtype=torch.long),
                                   **options)

    def ours() -> None:
        results = backend.generate_batch(requests)
        assert sum(r.usage.completion_tokens for r in results) == len(texts) * n * tokens

    by_length = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    arms = {"backend": ours, "bare": lambda: bare(by_length),
            "unsorted": lambda: bare(list(range(len(texts)))), "naive": naive}
    wall: dict[str, list[float]] = {name: [] for name in arms}
    cpu: dict[str, list[float]] = {name: [] for name in arms}
    ours()  # warm-up
    for _ in range(args.repeat):
        for name, run in arms.items():
            started, used = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - used)
    generated = len(texts) * n * tokens
    best = {name: min(values) for name, values in cpu.items()}
    rates = {name: round(generated / seconds, 1) for name, seconds in best.items()}
    wall_rates = {name: round(generated / min(values), 1) for name, values in wall.items()}
    return {"model": args.model, "prompts": len(texts), "samples": n, "tokens": tokens,
            "batch_size": args.batch_size, "threads": args.threads,
            "prompt_tokens": [min(map(len, encoded)), max(map(len, encoded))],
            "tokens_per_cpu_second": rates, "tokens_per_second": wall_rates,
            "cpu_seconds_of_all_rounds": cpu, "wall_seconds_of_all_rounds": wall,
            "backend_over_bare": round(rates["backend"] / rates["bare"], 3),
            "backend_over_bare_wall": round(wall_rates["backend"] / wall_rates["bare"], 3),
            "sorted_gain": round(best["unsorted"] / best["bare"], 3),
            "batching_gain_over_naive": round(best["naive"] / best["backend"], 3)}


# -- (b) the endpoint path ---------------------------------------------------------------------
def endpoint_arms(args: argparse.Namespace) -> list[dict[str, Any]]:
    from commitpack_dataset.generation import GenerationClient, OpenAIBackend
    from humanevalpack_metric.problems import load_problems
    from octo_trainer.evaluation.backends import ModelHandle
    from octo_trainer.evaluation.config import EvalArguments
    from octo_trainer.evaluation.generate import generate
    from octo_trainer.evaluation.prompts import humanevalpack_items
    from octo_trainer.formats import get_format
    from tests.support.scripted_openai_remote import RemoteScriptedServer

    capacity = args.capacity
    rows = []
    problems = {lang: load_problems(lang, args.data_dir)
                for lang in ("python", "js", "java", "go", "cpp", "rust")}
    pool = [item for lang, rows_ in problems.items() for item in humanevalpack_items(
        "synthesize", lang, rows_, get_format("octocoder"), 1)]
    with tempfile.TemporaryDirectory(prefix="eval-generation-") as work, \
            RemoteScriptedServer(latency=args.latency, capacity=capacity) as server:
        for concurrency in args.concurrency:
            count = min(len(pool), args.rounds * concurrency)
            settings = EvalArguments(model_name_or_path="scripted-model", base_url=server.base_url,
                                     prompt_format="octocoder", n_samples=1, progress=False,
                                     seed=concurrency)  # a new seed: nothing cached
            handle = ModelHandle(OpenAIBackend(server.base_url, api_key="benchmark"), None,
                                 "scripted-model", None)
            cache = Path(work) / f"c{concurrency}.sqlite"
            with GenerationClient(handle.backend, cache=cache, concurrency=concurrency,
                                  progress=False) as client:
                generate(client, pool[:1], handle, settings)  # warm-up (connections)
                server.reset()
                started, used = time.perf_counter(), time.process_time()
                answers = generate(client, pool[1 : count + 1], handle, settings)
                seconds, used = time.perf_counter() - started, time.process_time() - used
            assert all(None not in answer.texts() for answer in answers)
            in_flight = server.stats()["max_in_flight"]
            bare_seconds, bare_cpu = _bare(server, [i.prompt for i in pool[1 : count + 1]],
                                           concurrency)
            ideal = math.ceil(count / min(concurrency, capacity)) * args.latency
            rows.append({"concurrency": concurrency, "requests": count,
                         "seconds": round(seconds, 3),
                         "requests_per_second": round(count / seconds, 2),
                         "capacity_requests_per_second": round(count / ideal, 2),
                         "ratio": round(ideal / seconds, 3),
                         "bare_ratio": round(ideal / bare_seconds, 3),
                         "client_cpu_ms_per_request": round(used / count * 1000, 2),
                         "bare_cpu_ms_per_request": round(bare_cpu / count * 1000, 2),
                         "server_max_in_flight": in_flight})
            print(f"endpoint concurrency {concurrency:>3}: {rows[-1]['requests_per_second']:7.1f} "
                  f"req/s = {rows[-1]['ratio']:.2f}x capacity (bare AsyncOpenAI loop "
                  f"{rows[-1]['bare_ratio']:.2f}x)", flush=True)
    return rows


def _bare(server, prompts: list[str], concurrency: int) -> tuple[float, float]:
    """The same prompts through a bare ``AsyncOpenAI`` loop (a semaphore and ``gather``):
    what the machine allows without the runner and the client."""
    import asyncio

    import openai

    async def run() -> tuple[float, float]:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="benchmark", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> None:
            async with gate:
                await client.completions.create(model="scripted-model", prompt=prompt, n=1,
                                                max_tokens=1024, temperature=0.0)

        await one("warm-up")
        started, used = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(prompt + " (bare)") for prompt in prompts))
        seconds, used = time.perf_counter() - started, time.process_time() - used
        await client.close()
        return seconds, used

    return asyncio.run(run())


def markdown(report: dict[str, Any]) -> str:
    lines = []
    if report["local"]:
        lines = _local_markdown(report["local"])
    lines += [f"**(b) endpoint** (latency {report['settings']['latency']} s, capacity "
              f"{report['settings']['capacity']})", "",
              "| concurrency | requests | req/s | capacity req/s | ratio | bare loop ratio | "
              "client CPU / request (bare) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['concurrency']} | {r['requests']} | {r['requests_per_second']} | "
              f"{r['capacity_requests_per_second']} | {r['ratio']} | {r['bare_ratio']} | "
              f"{r['client_cpu_ms_per_request']} ms ({r['bare_cpu_ms_per_request']}) |"
              for r in report["endpoint"]]
    return "\n".join(lines) + "\n"


def _local_markdown(local: dict[str, Any]) -> list[str]:
    cpu, wall = local["tokens_per_cpu_second"], local["tokens_per_second"]
    lines = [f"**(a) local** ({local['prompts']} prompts x {local['samples']} samples x "
             f"{local['tokens']} tokens, batch {local['batch_size']}, {local['threads']} thread(s))",
             "", "| arm | tokens / CPU s | tokens / s (wall) |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate} | {wall[name]} |" for name, rate in cpu.items()]
    lines += ["", f"backend / bare: **{local['backend_over_bare']}x** on CPU time (target >= 0.9; "
              f"wall: {local['backend_over_bare_wall']}x); length sorting: "
              f"{local['sorted_gain']}x; batching + num_return_sequences over the naive loop: "
              f"{local['batching_gain_over_naive']}x", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if min(args.prompts, args.samples, args.tokens, args.batch_size, args.repeat, args.rounds) < 1:
        raise SystemExit("--prompts, --samples, --tokens, --batch-size, --repeat and --rounds "
                         "must be >= 1")
    local = None if args.skip_local else local_arms(args)
    if local:
        print(f"local: backend {local['tokens_per_cpu_second']['backend']} tokens per CPU second "
              f"= {local['backend_over_bare']}x bare", flush=True)
    report = {"settings": {"latency": args.latency, "capacity": args.capacity,
                           "concurrency": args.concurrency, "rounds": args.rounds},
              "local": local, "endpoint": endpoint_arms(args)}
    write_json_atomic(args.output_dir / "eval_generation_benchmark.json", report)
    write_text_atomic(args.output_dir / "eval_generation_benchmark.md", markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
