"""SFT on the tiny model: packing efficiency, and ``octopack-sft``'s overhead over a bare script.

Both figures come from one run on the same data (a few hundred instruction rows built
deterministically from MBPP and HumanEval), the same recipe (``tiny-cpu/lora`` by default, CPU),
the same seed and the same number of steps. ``max_length`` is 1024 by default, above the longest
row (105-918 tokens, median 180), so no strategy loses tokens to truncation.

1. **Packing efficiency** per strategy: the trainer is built by octopack's entry point
   (``octo_trainer.train.build_trainer``) with packing off (``none``: each row padded to the
   longest in its batch) and with TRL's strategies ``bfd`` (best-fit decreasing, padding-free
   batches), ``bfd_split`` (bfd, long rows split instead of truncated) and ``wrapped`` (rows
   concatenated and cut into ``max_length`` blocks). The trainer's own data loader is read for
   ``steps x gradient_accumulation_steps`` batches (over several epochs when packing leaves fewer
   batches per epoch, as training would), through a counting wrapper around its own
   collator: *efficiency* = real tokens / token slots in the collated ``input_ids``; *fill* =
   real tokens / (examples x ``max_length``), how full the rows (packed blocks) are.
2. **Overhead**: wall time of ``python -m octo_trainer.train --config <recipe>`` (the
   ``octopack-sft`` entry: data loading and rendering, trainer, training, saving the adapter,
   tokenizer, metrics, resolved recipe and model card) against a bare script
   (``--bare-arm``: ``load_dataset`` of the already-rendered prompt/completion rows,
   ``SFTConfig``/``LoraConfig`` with the recipe's values, ``SFTTrainer``, ``train``,
   ``save_model``). Each is a fresh process; after one untimed warm-up of each, the two arms
   alternate (ABBA) for ``--repeats`` pairs; the overhead is the median of the per-pair ratios,
   of wall time and of the child's CPU time (user + system; steadier on a shared machine).
   Both arms must end on the same training loss, or the comparison is refused.

    python benchmarks/sft_benchmark.py                     # 400 rows, 20 steps, 5 pairs
    python benchmarks/sft_benchmark.py --rows 64 --steps 4 --repeats 1 --warmup 0   # quick

Writes ``results/sft_benchmark.json``, ``results/sft_benchmark.md`` and (with matplotlib)
``results/sft_benchmark.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "benchmarks"
STRATEGIES = ("none", "bfd", "bfd_split", "wrapped")
EFFICIENCY_TARGET = 0.98
OVERHEAD_TARGET = 1.05


@dataclass
class BenchmarkConfig:
    """What one benchmark run measures."""

    rows: int = 400
    steps: int = 20
    repeats: int = 5
    warmup: int = 1
    recipe: str = "tiny-cpu/lora"
    max_length: int | None = 1024  # longer than every row here (MBPP/HumanEval: 105-918 tokens)
    threads: int = 1
    data_dir: Path = DEFAULT_DATA_DIR
    output_dir: Path = RESULTS_DIR
    work_dir: Path | None = None  # None: a temporary directory, removed afterwards
    strategies: tuple[str, ...] = STRATEGIES


# --------------------------------------------------------------------------- data


def instruction_rows(data_dir: Path, count: int, seed: int = 0) -> list[dict[str, str]]:
    """``count`` instruction/response rows from MBPP (task + its code) and HumanEval (complete
    the function + prompt and canonical solution), shuffled with ``seed``: lengths vary from a
    few dozen to several hundred tokens."""
    rows = []
    with (data_dir / "mbpp.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            task = json.loads(line)
            rows.append({
                "instruction": f"{task['text']}\nYour code should pass: {task['test_list'][0]}",
                "response": task["code"].replace("\r\n", "\n"),
            })  # fmt: skip
    with gzip.open(data_dir / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            task = json.loads(line)
            rows.append({
                "instruction": f"Complete the following Python function.\n\n{task['prompt']}",
                "response": task["prompt"] + task["canonical_solution"],
            })  # fmt: skip
    if count > len(rows):
        raise ValueError(f"--rows {count}: only {len(rows)} MBPP + HumanEval rows in {data_dir}")
    random.Random(seed).shuffle(rows)
    return rows[:count]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(dict(row)) + "\n" for row in rows), encoding="utf-8")
    return path


def write_recipe(config: BenchmarkConfig, work: Path, data: Path, model_dir: Path) -> Path:
    """The shipped recipe pointed at ``data`` and the tiny model, ``config.steps`` steps."""
    import yaml
    from octo_trainer.recipe_files import recipe_path

    recipe = yaml.safe_load(recipe_path(config.recipe).read_text(encoding="utf-8"))
    recipe.update(datasets=[{"path": str(data), "split": "train"}], output_dir=str(work / "ours"),
                  model_name_or_path=str(model_dir), max_steps=config.steps)
    if config.max_length:
        recipe["max_length"] = config.max_length
    path = work / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- packing efficiency


@dataclass
class BatchCounts:
    """Tokens in collated batches."""

    batches: int = 0
    rows: int = 0  # examples collated: packed blocks when packing, else instruction rows
    documents: int = 0  # instruction rows (or pieces of them) inside those examples
    tokens: int = 0  # real tokens: the examples' lengths
    slots: int = 0  # positions in the collated input_ids
    masked_padding: int | None = None  # attention_mask zeros, where the batches have a mask

    def __add__(self, other: BatchCounts) -> BatchCounts:
        masked = None
        if self.masked_padding is not None or other.masked_padding is not None:
            masked = (self.masked_padding or 0) + (other.masked_padding or 0)
        return BatchCounts(self.batches + other.batches, self.rows + other.rows,
                           self.documents + other.documents, self.tokens + other.tokens,
                           self.slots + other.slots, masked)

    def efficiency(self) -> float:
        return self.tokens / self.slots if self.slots else 0.0

    def fill(self, max_length: int) -> float:
        return self.tokens / (self.rows * max_length) if self.rows else 0.0


class CountingCollator:
    """Wraps the trainer's collator and counts what goes in and comes out, batch by batch.

    The data loader may collate a batch ahead of the one it yields (accelerate looks one batch
    ahead), so callers sum the first N entries of :attr:`batches` for N batches consumed.
    """

    def __init__(self, collator):
        self.collator = collator
        self.batches: list[BatchCounts] = []

    def __call__(self, examples):
        batch = self.collator(examples)
        masked = None
        if "attention_mask" in batch:
            masked = int((batch["attention_mask"] == 0).sum())
        self.batches.append(BatchCounts(
            batches=1,
            rows=len(examples),
            documents=sum(len(e.get("seq_lengths") or [1]) for e in examples),
            tokens=sum(len(e["input_ids"]) for e in examples),
            slots=batch["input_ids"].numel(),
            masked_padding=masked,
        ))  # fmt: skip
        return batch

    def total(self, first: int) -> BatchCounts:
        return sum(self.batches[:first], BatchCounts())


def strategy_overrides(strategy: str) -> list[str]:
    if strategy == "none":
        return ["--packing", "false"]
    return ["--packing", "true", "--packing_strategy", strategy]


def consume(dataloader, wanted: int) -> int:
    """Read ``wanted`` batches, starting new epochs as the trainer does; return how many were read.

    Only the last epoch is cut short, so the collator's look-ahead batch comes after them all.
    """
    consumed = 0
    while consumed < wanted:
        epoch = sum(1 for _ in islice(dataloader, wanted - consumed))
        if epoch == 0:
            break
        consumed += epoch
    return consumed


def measure_packing(recipe: Path, strategy: str) -> dict[str, Any]:
    """Efficiency and fill of the first ``max_steps x accumulation`` batches the trainer loads."""
    from octo_trainer.train import build_trainer, parse_args

    trainer = build_trainer(*parse_args(["--config", str(recipe), *strategy_overrides(strategy)]))
    counter = CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    wanted = trainer.args.max_steps * trainer.args.gradient_accumulation_steps
    consumed = consume(trainer.get_train_dataloader(), wanted)
    counts, max_length = counter.total(consumed), trainer.args.max_length
    return {
        "strategy": strategy,
        "padding_free": bool(getattr(trainer, "padding_free", False)),
        "dataset_rows": len(trainer.train_dataset),
        **dataclasses.asdict(counts),
        "efficiency": counts.efficiency(),
        "fill": counts.fill(max_length),
        "max_length": max_length,
    }


# --------------------------------------------------------------------------- the two timed arms


def bare_spec(recipe: Path, data: Path, work: Path) -> dict[str, Any]:
    """Arguments for the bare script: the recipe's SFTConfig and LoRA values, nothing of ours.

    The rows are written already rendered (``prompt``/``completion``), so the bare arm does not
    pay for loading and formatting that octopack's entry point does: a conservative baseline.
    """
    import yaml
    from trl import SFTConfig

    from octo_trainer.data import build_dataset
    from octo_trainer.train import parse_args

    raw = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    data_args, _, model_args = parse_args(["--config", str(recipe)])
    names = {f.name for f in dataclasses.fields(SFTConfig)}
    sft = {key: value for key, value in raw.items() if key in names}
    sft.update(output_dir=str(work / "bare"), completion_only_loss=not data_args.loss_on_prompt,
               model_init_kwargs={"dtype": model_args.dtype})
    rendered = write_jsonl(data, build_dataset(data_args))
    lora = {"r": model_args.lora_r, "lora_alpha": model_args.lora_alpha,
            "lora_dropout": model_args.lora_dropout, "target_modules": model_args.lora_target_modules,
            "task_type": "CAUSAL_LM"} if model_args.use_peft else None  # fmt: skip
    return {"model": model_args.model_name_or_path, "data": str(rendered), "sft_config": sft,
            "lora": lora}


def bare_arm(spec_path: str) -> int:
    """The bare script: build SFTTrainer directly from the spec, train, save; print the loss."""
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    trainer = SFTTrainer(
        model=spec["model"],
        args=SFTConfig(**spec["sft_config"]),
        train_dataset=load_dataset("json", data_files=spec["data"], split="train"),
        peft_config=LoraConfig(**spec["lora"]) if spec["lora"] else None,
    )
    result = trainer.train()
    trainer.save_model()
    print(json.dumps({"train_loss": result.training_loss}))
    return 0


@dataclass
class Arm:
    """One timed contender: its command and, per run, wall and CPU seconds and the final loss."""

    name: str
    command: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def ours_loss(recipe: Path) -> float:
    import yaml

    out = Path(yaml.safe_load(recipe.read_text(encoding="utf-8"))["output_dir"])
    return json.loads((out / "train_results.json").read_text())["train_loss"]


def children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_arm(arm: Arm, env: dict[str, str], log: Path, recipe: Path) -> tuple[float, float, float]:
    """Run ``arm`` once in a fresh process: (wall seconds, its CPU seconds, final training loss).

    CPU time (user + system of the finished child) is less sensitive than wall time to other
    work on a shared machine; both are reported.
    """
    cpu_before, started = children_cpu_seconds(), time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(arm.command, env=env, stdout=subprocess.PIPE, stderr=out, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"{arm.name} failed ({done.returncode}); see {log}")
    if arm.name == "ours":
        return wall, cpu, ours_loss(recipe)
    return wall, cpu, json.loads(done.stdout.strip().splitlines()[-1])["train_loss"]


def arm_environment(threads: int, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_DATASETS_CACHE=str(work / "hf-datasets"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    return env


def ratio_summary(ours: list[float], bare: list[float]) -> dict[str, Any]:
    """Per-pair ratios ours / bare, their median and range, and the ratio of the medians."""
    ratios = [a / b for a, b in zip(ours, bare)]
    return {
        "ours_seconds": ours,
        "bare_seconds": bare,
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "min_ratio": min(ratios),
        "max_ratio": max(ratios),
        "ratio_of_medians": statistics.median(ours) / statistics.median(bare),
    }


def time_arms(config: BenchmarkConfig, recipe: Path, spec: Path, work: Path) -> dict[str, Any]:
    """Warm-ups, then ABBA-alternating timed runs; per-pair ratios ours / bare."""
    ours = Arm("ours", [sys.executable, "-m", "octo_trainer.train", "--config", str(recipe)])
    bare = Arm("bare", [sys.executable, str(Path(__file__).resolve()), "--bare-arm", str(spec)])
    env = arm_environment(config.threads, work)
    for index in range(config.warmup):
        for arm in (ours, bare):
            run_arm(arm, env, work / f"{arm.name}-warmup{index}.log", recipe)
    for index in range(config.repeats):
        order = (ours, bare) if index % 2 == 0 else (bare, ours)
        for arm in order:
            wall, cpu, loss = run_arm(arm, env, work / f"{arm.name}-{index}.log", recipe)
            arm.wall.append(wall)
            arm.cpu.append(cpu)
            arm.losses.append(loss)
    if any(abs(a - b) > 1e-4 for a, b in zip(ours.losses, bare.losses)):
        raise RuntimeError(f"the arms trained differently: losses ours {ours.losses}, bare {bare.losses}")
    return {
        "wall": ratio_summary(ours.wall, bare.wall),
        "cpu": ratio_summary(ours.cpu, bare.cpu),
        "train_loss": ours.losses[0],
        "commands": {"ours": ours.command, "bare": bare.command},
    }


# --------------------------------------------------------------------------- report


def environment_info(config: BenchmarkConfig) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "threads_per_arm": config.threads,
        "load_average": list(os.getloadavg()),
        "versions": {name: metadata.version(name)
                     for name in ("torch", "transformers", "trl", "peft", "datasets", "accelerate")},
    }  # fmt: skip


def markdown_report(report: dict[str, Any]) -> str:
    lines = ["| strategy | padding-free | batches | real tokens | slots | efficiency | fill |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in report["packing"]:
        lines.append(f"| {row['strategy']} | {'yes' if row['padding_free'] else 'no'} | "
                     f"{row['batches']} | {row['tokens']:,} | {row['slots']:,} | "
                     f"{row['efficiency']:.4f} | {row['fill']:.4f} |")
    timing = report.get("overhead")
    if timing:
        lines += ["", "| arm | clock | median s | runs (s) |", "|---|---|---:|---|"]
        for clock in ("wall", "cpu"):
            for arm in ("ours", "bare"):
                times = timing[clock][f"{arm}_seconds"]
                lines.append(f"| {arm} | {clock} | {statistics.median(times):.2f} | "
                             f"{', '.join(f'{t:.2f}' for t in times)} |")
        lines.append("")
        for clock in ("wall", "cpu"):
            summary = timing[clock]
            lines.append(f"overhead ours / bare ({clock}): median {summary['median_ratio']:.3f}x, "
                         f"pairs {summary['min_ratio']:.3f}-{summary['max_ratio']:.3f}x, "
                         f"ratio of medians {summary['ratio_of_medians']:.3f}x "
                         f"(target <= {OVERHEAD_TARGET}x)  ")
    return "\n".join(lines) + "\n"


def save_chart(report: dict[str, Any], path: Path) -> Path | None:
    """Efficiency per strategy and the two arms' times; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = [row["strategy"] for row in report["packing"]]
    left.bar(names, [row["efficiency"] for row in report["packing"]], label="efficiency")
    left.plot(names, [row["fill"] for row in report["packing"]], "ko", label="fill")
    left.axhline(EFFICIENCY_TARGET, color="red", linestyle="--", linewidth=1)
    left.set_ylim(0, 1.05)
    left.set_title("non-padding share of token slots")
    left.legend(loc="lower right")
    timing = report.get("overhead")
    if timing:
        series = [timing[clock][f"{arm}_seconds"] for clock in ("wall", "cpu") for arm in ("ours", "bare")]
        right.boxplot(series)
        right.set_xticks([1, 2, 3, 4], ["ours wall", "bare wall", "ours CPU", "bare CPU"])
        right.set_ylabel("seconds per run (fresh process)")
        right.set_title(f"ours / bare: wall {timing['wall']['median_ratio']:.3f}x, "
                        f"CPU {timing['cpu']['median_ratio']:.3f}x")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run_benchmark(config: BenchmarkConfig, work: Path) -> dict[str, Any]:
    """Everything measured in one run (no files written outside ``work``)."""
    from octo_trainer.tiny import build_tiny_model

    data = write_jsonl(work / "instructions.jsonl", instruction_rows(config.data_dir, config.rows))
    recipe = write_recipe(config, work, data, build_tiny_model())
    settings = {key: str(value) if isinstance(value, Path) else value
                for key, value in dataclasses.asdict(config).items()}
    report: dict[str, Any] = {"config": settings,
                              "environment": environment_info(config)}
    report["packing"] = [measure_packing(recipe, strategy) for strategy in config.strategies]
    if config.repeats > 0:
        spec = work / "bare_spec.json"
        spec.write_text(json.dumps(bare_spec(recipe, work / "rendered.jsonl", work)), encoding="utf-8")
        report["overhead"] = time_arms(config, recipe, spec, work)
    report["environment"]["load_average_after"] = list(os.getloadavg())
    return report


def write_outputs(report: dict[str, Any], output_dir: Path) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    json_path = output_dir / "sft_benchmark.json"
    json_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    table = output_dir / "sft_benchmark.md"
    table.write_text(markdown_report(report), encoding="utf-8")
    chart = save_chart(report, output_dir / "sft_benchmark.png")
    return [json_path, table] + ([chart] if chart else [])


def parse_args(argv=None) -> tuple[BenchmarkConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = BenchmarkConfig()
    parser.add_argument("--rows", type=int, default=defaults.rows, help="instruction rows")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=defaults.repeats,
                        help="timed ours/bare pairs (0: packing only)")
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="untimed runs per arm")
    parser.add_argument("--recipe", default=defaults.recipe, help="shipped recipe name or YAML path")
    parser.add_argument("--max-length", type=int, default=defaults.max_length,
                        help="sequence/block length (0: the recipe's own)")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch threads per arm")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="directory with mbpp.jsonl and HumanEval.jsonl.gz")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--work-dir", type=Path,
                        help="keep data, recipe, outputs and per-run logs here (default: a temp dir)")
    parser.add_argument("--bare-arm", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config = BenchmarkConfig(rows=args.rows, steps=args.steps, repeats=args.repeats,
                             warmup=args.warmup, recipe=args.recipe, max_length=args.max_length,
                             threads=args.threads, data_dir=args.data_dir,
                             output_dir=args.output_dir, work_dir=args.work_dir,
                             strategies=tuple(args.strategies))
    return config, args


def main(argv=None) -> int:
    config, args = parse_args(argv)
    if args.bare_arm:
        return bare_arm(args.bare_arm)
    if config.work_dir is not None:
        config.work_dir.mkdir(parents=True, exist_ok=True)
        report = run_benchmark(config, config.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="sft-benchmark-") as work:
            report = run_benchmark(config, Path(work))
    paths = write_outputs(report, config.output_dir)
    print(markdown_report(report))
    print(f"load average before {report['environment']['load_average']}, "
          f"after {report['environment']['load_average_after']}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
