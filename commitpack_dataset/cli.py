"""``commitpack`` command line: mine, filter, stats, push.

- ``commitpack mine REPO... -o OUT``: mine repositories with the CommitPack (or, with ``--ft``,
  CommitPackFT) builder; write ``OUT/data/<config>/data.<jsonl|parquet>`` per language (the Hub
  layout) and ``OUT/drop_counts.json``.
- ``commitpack filter INPUT... -o OUT``: run the CommitPackFT rules over CommitPack JSONL/Parquet
  files (or directories of them); same output layout, with the per-reason drop counts.
- ``commitpack stats DROP_COUNTS.json... [--png chart.png]``: print the drop table and draw a bar chart.
- ``commitpack push INPUT... REPO_ID``: push the rows to the Hub, one config per language.

Every output file is written to a temporary file next to it and renamed into place.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

DROP_COUNTS_FILE = "drop_counts.json"
FORMATS = ("jsonl", "parquet")
INPUT_SUFFIXES = (".jsonl", ".json", ".parquet")


class CliError(Exception):
    """A user error: printed as ``commitpack: error: <message>`` with exit status 2."""


# --------------------------------------------------------------------------- atomic output


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_json(target: Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class LanguageFiles:
    """Streams records into ``output/data/<config>/data.<format>``, one file per language.

    Each file is written to a temporary file next to its target and renamed into place by
    ``close()``; ``abort()`` (or leaving the ``with`` block with an exception) removes them. Parquet
    rows are buffered ``batch_size`` at a time per language, so memory stays bounded.
    """

    def __init__(self, output: Path, file_format: str, batch_size: int = 1000):
        self.output, self.file_format, self.batch_size = Path(output), file_format, batch_size
        self.rows: Dict[str, int] = {}
        self._open: Dict[str, tuple] = {}  # config -> (target, temporary, handle or writer, buffer)

    def _start(self, name: str) -> tuple:
        target = self.output / "data" / name / f"data.{self.file_format}"
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        if self.file_format == "jsonl":
            sink = os.fdopen(handle, "w", encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            from commitpack_dataset.builders import FIELDS

            os.close(handle)
            sink = pq.ParquetWriter(temporary, pa.schema([(field, pa.string()) for field in FIELDS]))
        self._open[name] = (target, temporary, sink, [])
        self.rows[name] = 0
        return self._open[name]

    def write(self, record: dict) -> None:
        """Append one record to its language's file."""
        from commitpack_dataset.builders import FIELDS
        from commitpack_dataset.languages import config_name

        name = config_name(record["lang"])
        _, _, sink, buffer = self._open.get(name) or self._start(name)
        row = {field: record[field] for field in FIELDS}
        if self.file_format == "jsonl":
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            buffer.append(row)
            if len(buffer) >= self.batch_size:
                self._flush_parquet(sink, buffer)
        self.rows[name] += 1

    @staticmethod
    def _flush_parquet(writer, buffer: List[dict]) -> None:
        import pyarrow as pa

        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, writer.schema))
            buffer.clear()

    def close(self) -> Dict[str, int]:
        """Finish every file and rename it into place; return rows per config."""
        for target, temporary, sink, buffer in self._open.values():
            if self.file_format == "parquet":
                self._flush_parquet(sink, buffer)
            sink.close()
            os.replace(temporary, target)
        self._open.clear()
        return dict(self.rows)

    def abort(self) -> None:
        """Close and delete every temporary file; nothing is renamed into place."""
        for _, temporary, sink, _ in self._open.values():
            with contextlib.suppress(Exception):
                sink.close()
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self._open.clear()

    def __enter__(self) -> "LanguageFiles":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_by_language(output: Path, records: Iterable[dict], file_format: str) -> Dict[str, int]:
    """Stream records into ``output/data/<config>/data.<format>``; return rows per config."""
    with LanguageFiles(output, file_format) as files:
        for record in records:
            files.write(record)
    return dict(files.rows)


# --------------------------------------------------------------------------- input


def input_files(paths: Sequence[str]) -> List[Path]:
    """Expand files and directories into the JSONL/Parquet files to read, sorted per directory."""
    files: List[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in INPUT_SUFFIXES)
            if not found:
                raise CliError(f"no .jsonl/.json/.parquet files under {path}")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in INPUT_SUFFIXES:
                raise CliError(f"{path}: unsupported file type (expected .jsonl, .json or .parquet)")
            files.append(path)
        else:
            raise CliError(f"input not found: {path}")
    return files


def _rows(path: Path) -> Iterator[dict]:
    """Rows of one JSONL or Parquet file, streamed (Parquet in record batches)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
            yield from batch.to_pylist()
    else:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def read_records(path: Path) -> Iterator[dict]:
    """Yield records from one JSONL or Parquet file; unreadable files and bad rows raise CliError."""
    from commitpack_dataset.builders import FIELDS

    rows = _rows(path)
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise CliError(f"cannot read {path}: {error}") from error
        except Exception as error:  # pyarrow raises its own error types for corrupt files
            raise CliError(f"cannot read {path}: {type(error).__name__}: {error}") from error
        number += 1
        missing = [name for name in FIELDS if name not in row] if isinstance(row, dict) else list(FIELDS)
        if missing:
            raise CliError(f"{path}: record {number} lacks CommitPack fields {missing}")
        yield row


# --------------------------------------------------------------------------- languages


def resolve_languages(requested: Optional[Sequence[str]]) -> Optional[tuple]:
    """Map display or config names to display names; unknown names raise with close matches."""
    if not requested:
        return None
    from commitpack_dataset.languages import all_config_names, language_extensions

    by_config = all_config_names()
    display = {name.lower(): name for name in language_extensions()}
    resolved = []
    for name in requested:
        match = by_config.get(name) or display.get(name.lower())
        if match is None:
            candidates = list(by_config) + list(language_extensions())
            close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
            close += [c for c in difflib.get_close_matches(name.lower(), list(by_config), n=5) if c not in close]
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise CliError(f"unknown language {name!r}{hint}")
        resolved.append(match)
    return tuple(dict.fromkeys(resolved))


# --------------------------------------------------------------------------- subcommands


def check_repositories(repositories: Sequence[str]) -> None:
    """Local repository paths must exist and be git repositories (URLs are checked when cloned)."""
    from commitpack_dataset.mining import MiningError, _looks_like_url, resolve_git_dir

    for location in repositories:
        if _looks_like_url(location):
            continue
        if not Path(location).exists():
            raise CliError(f"repository path not found: {location}")
        try:
            resolve_git_dir(location)
        except MiningError as error:
            raise CliError(str(error)) from error


def prepare_output(output: str, overwrite: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output whose ``data/`` already holds files (stale languages would survive a re-run)
    unless ``overwrite``, which removes that ``data/`` directory only; never when inputs live there."""
    data = Path(output).resolve() / "data"
    if any(data in Path(path).resolve().parents for path in inputs):
        raise CliError(f"input files lie inside the output directory {data}; choose another --output")
    if data.exists() and any(path.is_file() for path in data.rglob("*")):
        if not overwrite:
            raise CliError(f"{data} already exists; pass --overwrite to replace it")
        import shutil

        shutil.rmtree(data)


def command_mine(args: argparse.Namespace) -> int:
    """Mine repositories with the builder and write per-language files plus drop counts."""
    from commitpack_dataset.builders import ALL_LANGUAGES_CONFIG, CommitPack, CommitPackFT, drop_table

    check_repositories(args.repositories)
    prepare_output(args.output, args.overwrite)
    languages = resolve_languages(args.languages)
    builder_class = CommitPackFT if args.ft else CommitPack
    with contextlib.ExitStack() as stack:
        cache_dir = args.cache_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="commitpack-cache-"))
        kwargs = {"languages": languages} if languages else {}
        if args.ft:
            kwargs["tokenizer"] = args.tokenizer
        builder = builder_class(cache_dir=str(cache_dir), config_name=ALL_LANGUAGES_CONFIG,
                                repositories=tuple(args.repositories), clone_cache_dir=args.clone_cache_dir,
                                license_policy=args.license_policy, **kwargs)
        builder.download_and_prepare(num_proc=args.num_proc if len(args.repositories) > 1 else None)
        counts = builder.drop_statistics()
        rows = {}
        if builder.info.splits["train"].num_examples:
            rows = write_by_language(Path(args.output), builder.as_dataset("train"), args.format)
    write_json(Path(args.output) / DROP_COUNTS_FILE, {"kept": sum(rows.values()), "rows_per_config": rows,
                                                       "drop_counts": dict(counts)})
    print(f"kept {sum(rows.values())} commits in {len(rows)} languages -> {args.output}")
    print(drop_table(counts))
    return 0


def command_filter(args: argparse.Namespace) -> int:
    """Run the CommitPackFT rules over CommitPack files; write per-language files plus drop counts."""
    from commitpack_dataset.filters import commitpackft_pipeline

    tokenizer = None if args.tokenizer in ("", "estimate") else args.tokenizer
    files = input_files(args.inputs)
    prepare_output(args.output, args.overwrite, files)
    pipeline = commitpackft_pipeline(faithful=not args.not_faithful, tokenizer=tokenizer,
                                     min_tokens=args.min_tokens, max_tokens=args.max_tokens)
    rows = write_by_language(Path(args.output), pipeline(record for path in files for record in read_records(path)),
                             args.format)
    write_json(Path(args.output) / DROP_COUNTS_FILE, {"kept": pipeline.kept, "rows_per_config": rows,
                                                       "drop_counts": dict(pipeline.dropped)})
    print(pipeline.table())
    return 0


def load_drop_counts(paths: Sequence[str]) -> Counter:
    """Sum the ``drop_counts`` of drop-count JSON files: ours, a builder's shard files, or directories
    of them (e.g. ``<builder cache>/drop_counts``)."""
    total: Counter = Counter()
    expanded = [p for raw in paths for p in (sorted(Path(raw).glob("*.json")) if Path(raw).is_dir() else [Path(raw)])]
    for path in expanded:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            total.update({str(k): int(v) for k, v in payload["drop_counts"].items()})
        except FileNotFoundError as error:
            raise CliError(f"drop counts file not found: {path}") from error
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CliError(f"{path} is not a drop counts file: {error!r}") from error
    return total


def bar_chart(counts: Counter, target: Path, title: str = "Dropped commits per reason") -> None:
    """A horizontal bar chart of ``counts`` (most frequent on top) saved as PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reasons = counts.most_common()[::-1] or [("(no drops)", 0)]
    figure, axes = plt.subplots(figsize=(8, 1 + 0.35 * len(reasons)))
    try:
        axes.barh([reason for reason, _ in reasons], [count for _, count in reasons], color="tab:blue")
        axes.set_xlabel("commits")
        axes.set_title(title)
        figure.tight_layout()
        with atomic_path(target) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    finally:
        plt.close(figure)


def command_stats(args: argparse.Namespace) -> int:
    """Print the summed drop table; draw the bar chart when ``--png`` is given."""
    from commitpack_dataset.builders import drop_table

    counts = load_drop_counts(args.drop_counts)
    print(drop_table(counts))
    if args.png:
        bar_chart(counts, Path(args.png))
        print(f"chart -> {args.png}")
    return 0


def _cli_error_in_chain(error: BaseException) -> Optional[CliError]:
    """The first CliError among ``error`` and its causes, or ``None``."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, CliError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _projected_records(files: List[str]) -> Iterator[dict]:
    """The CommitPack fields of every record of ``files`` (a generator for ``Dataset.from_generator``)."""
    from commitpack_dataset.builders import FIELDS

    for path in files:
        for row in read_records(Path(path)):
            yield {name: row[name] for name in FIELDS}


def command_push(args: argparse.Namespace) -> int:
    """Push CommitPack files to ``repo_id``, one config per language."""
    import datasets

    from commitpack_dataset.builders import COMMITPACK_FEATURES
    from commitpack_dataset.publish import push_languages

    files = [str(path) for path in input_files(args.inputs)]
    try:
        dataset = datasets.Dataset.from_generator(_projected_records, features=COMMITPACK_FEATURES,
                                                  gen_kwargs={"files": files}, cache_dir=args.cache_dir)
    except Exception as error:  # datasets wraps generator errors in DatasetGenerationError
        cause = _cli_error_in_chain(error)
        if cause is not None:
            raise cause from None
        if "corresponds to no data" in str(error):  # an empty split
            raise CliError("no records to push") from None
        raise
    pushed = push_languages(dataset, args.repo_id, private=args.private or None, max_shard_size=args.max_shard_size)
    print(f"pushed {len(dataset)} rows to {args.repo_id}: configs {', '.join(pushed)}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The ``commitpack`` argument parser."""
    parser = argparse.ArgumentParser(prog="commitpack",
                                     description="Mine, filter, inspect and publish CommitPack data.")
    commands = parser.add_subparsers(dest="command", required=True)

    mine = commands.add_parser("mine", help="mine git repositories into per-language files")
    mine.add_argument("repositories", nargs="+", help="local repository paths or clone URLs")
    mine.add_argument("-o", "--output", required=True, help="output directory (data/<lang>/data.<format>)")
    mine.add_argument("--format", choices=FORMATS, default="jsonl")
    mine.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data directory")
    mine.add_argument("--languages", nargs="+", help="display or config names (default: every language)")
    mine.add_argument("--ft", action="store_true", help="apply the CommitPackFT rules too")
    mine.add_argument("--tokenizer", default="bigcode/starcoder", help="tokenizer for --ft, or 'estimate'")
    mine.add_argument("--license-policy", choices=("keep-unknown", "drop-unknown"), default="keep-unknown")
    mine.add_argument("--cache-dir", help="datasets cache directory (default: a temporary one)")
    mine.add_argument("--clone-cache-dir", help="where URLs are mirror-cloned")
    mine.add_argument("--num-proc", type=int, default=None, help="worker processes (one shard per repository)")
    mine.set_defaults(handler=command_mine)

    filt = commands.add_parser("filter", help="apply the CommitPackFT rules to CommitPack files")
    filt.add_argument("inputs", nargs="+", help="CommitPack .jsonl/.parquet files or directories")
    filt.add_argument("-o", "--output", required=True)
    filt.add_argument("--format", choices=FORMATS, default="jsonl")
    filt.add_argument("--overwrite", action="store_true", help="replace an existing OUT/data directory")
    filt.add_argument("--tokenizer", default="bigcode/starcoder", help="tokenizer name/path, or 'estimate'")
    filt.add_argument("--min-tokens", type=int, default=50)
    filt.add_argument("--max-tokens", type=int, default=768)
    filt.add_argument("--not-faithful", action="store_true", help="our corrections instead of the released scripts")
    filt.set_defaults(handler=command_filter)

    stats = commands.add_parser("stats", help="drop statistics as a table and a bar chart")
    stats.add_argument("drop_counts", nargs="+", help="drop_counts.json files or directories of them (summed)")
    stats.add_argument("--png", help="write a bar chart PNG here")
    stats.set_defaults(handler=command_stats)

    push = commands.add_parser("push", help="push CommitPack files to the Hub, one config per language")
    push.add_argument("inputs", nargs="+", help="CommitPack .jsonl/.parquet files or directories")
    push.add_argument("repo_id", help="namespace/name of the dataset repository")
    push.add_argument("--private", action="store_true")
    push.add_argument("--max-shard-size", default=None)
    push.add_argument("--cache-dir", help="datasets cache for the Arrow copy of the inputs (default: HF cache)")
    push.set_defaults(handler=command_push)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``commitpack`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CliError as error:
        print(f"commitpack: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
