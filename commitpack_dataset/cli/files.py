"""Atomic per-language output files and CommitPack input files (JSONL / Parquet) for the CLI.

Every output file is written to a temporary file next to it and renamed into place
(``octopack_common.atomic_path``); the layout is the Hub repository's (``hub_cards.dataset_push.config_data_dir``).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

from octopack_common import atomic_path, write_json_atomic

from commitpack_dataset.cli.errors import CliError
from commitpack_dataset.construction import FIELDS
from hub_cards.cli.push import FACTS_FILE as CARD_FACTS_FILE
from hub_cards.dataset_push import config_data_dir

DROP_COUNTS_FILE = "drop_counts.json"
SUMMARY_FILES = (DROP_COUNTS_FILE, CARD_FACTS_FILE)  # beside data/ in an output directory, not records
FORMATS = ("jsonl", "parquet")
INPUT_SUFFIXES = (".jsonl", ".json", ".parquet")


class LanguageFiles:
    """Streams records into ``output/data/<config>/data.<format>``, one file per language.

    Each file is an ``octopack_common.atomic_path``: written beside its target and renamed into place
    by ``close()``; ``abort()`` (or leaving the ``with`` block with an exception) removes them. Parquet
    rows are buffered ``batch_size`` at a time per language, so memory stays bounded.
    """

    def __init__(self, output: Path, file_format: str, batch_size: int = 1000):
        self.output, self.file_format, self.batch_size = Path(output), file_format, batch_size
        self.rows: Dict[str, int] = {}
        self._open: Dict[str, tuple] = {}  # config -> (handle or writer, buffer)
        self._files = contextlib.ExitStack()  # the atomic paths, renamed into place when it closes

    def _start(self, name: str) -> tuple:
        target = self.output / config_data_dir(name) / f"data.{self.file_format}"
        temporary = self._files.enter_context(atomic_path(target))
        if self.file_format == "jsonl":
            sink = open(temporary, "w", encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            sink = pq.ParquetWriter(str(temporary), pa.schema([(field, pa.string()) for field in FIELDS]))
        self._open[name] = (sink, [])
        self.rows[name] = 0
        return self._open[name]

    def write(self, record: dict) -> None:
        """Append one record to its language's file."""
        from commitpack_dataset.languages import config_name

        name = config_name(record["lang"])
        sink, buffer = self._open.get(name) or self._start(name)
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
        for sink, buffer in self._open.values():
            if self.file_format == "parquet":
                self._flush_parquet(sink, buffer)
            sink.close()
        self._open.clear()
        self._files.close()
        return dict(self.rows)

    def abort(self) -> None:
        """Close and delete every temporary file; nothing is renamed into place."""
        for sink, _ in self._open.values():
            with contextlib.suppress(Exception):
                sink.close()
        self._open.clear()
        error = RuntimeError("aborted")
        self._files.__exit__(type(error), error, None)

    def __enter__(self) -> "LanguageFiles":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_drop_summary(output: Path, rows_per_config: Dict[str, int], drop_counts: Dict[str, int],
                       token_counter: Optional[Dict[str, str]] = None) -> None:
    """``output/drop_counts.json``: rows kept per config, drops per reason and, when the token rule ran,
    how it counted tokens (``commitpack stats`` reads it)."""
    payload = {"kept": sum(rows_per_config.values()), "rows_per_config": dict(rows_per_config),
               "drop_counts": dict(drop_counts)}
    if token_counter:
        payload["token_counter"] = token_counter
    write_json_atomic(Path(output) / DROP_COUNTS_FILE, payload)


def write_by_language(output: Path, records: Iterable[dict], file_format: str) -> Dict[str, int]:
    """Stream records into ``output/data/<config>/data.<format>``; return rows per config."""
    with LanguageFiles(output, file_format) as files:
        for record in records:
            files.write(record)
    return dict(files.rows)


def input_files(paths: Sequence[str]) -> List[Path]:
    """Expand files and directories into the JSONL/Parquet files to read, sorted per directory."""
    files: List[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in INPUT_SUFFIXES
                           and p.name not in SUMMARY_FILES)
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
