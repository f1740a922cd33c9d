"""Commit mining speed: octopack's ``CommitMiner`` vs bare git plumbing vs PyDriller, in one run.

The task for all three: walk the history, find the commits that modify exactly one file, and read
both versions of that file. Rates are commits walked per second.

- **ours**: ``commitpack_dataset.mining.CommitMiner().mine(repo)`` (one ``git log`` stream, long-lived
  ``cat-file --batch-check`` and ``--batch`` processes, size checks, binary checks, decoding);
- **bare**: ``git log --raw -z`` read to the end, then ONE ``git cat-file --batch`` fed every blob of
  the same commits at once (no size checks, no decoding): the physical limit of this approach;
- **PyDriller**: ``Repository(path).traverse_commits()``, ``modified_files`` and
  ``source_code_before``/``source_code`` of single-modified-file commits, on the first
  ``--pydriller-commits`` commits only (it is ~100x slower), compared by rate.

The repository is generated once (``git fast-import``, deterministic) into ``--cache-dir``: a history
of ``--commits`` commits touching Python, JavaScript, Go and Markdown files (mostly one file per
commit, some two-file commits and some additions). ``--repo PATH`` measures an existing repository.

    python benchmarks/mining_benchmark.py                      # 4,000 generated commits
    python benchmarks/mining_benchmark.py --repo . --pydriller-commits 200
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from octopack_common import cache_dir, ensure_built

DEFAULT_CACHE = cache_dir() / "mining-benchmark"
FILE_KINDS = (("src/module_{}.py", "value_{} = {}\n"), ("web/widget_{}.js", "const v{} = {};\n"),
              ("cmd/tool_{}.go", "var v{} = {}\n"), ("docs/page_{}.md", "Line {} says {}.\n"))


# --------------------------------------------------------------------------- the generated repository


def _file_content(template: str, lines: int, salt: int) -> bytes:
    return "".join(template.format(i, (i * 31 + salt) % 997) for i in range(lines)).encode("utf-8")


def fast_import_stream(commits: int, files_per_kind: int = 25, seed: int = 0) -> bytes:
    """A ``git fast-import`` stream of a deterministic multi-language history of ``commits`` commits."""
    rng = random.Random(seed)
    paths = [(pattern.format(i), template) for pattern, template in FILE_KINDS for i in range(files_per_kind)]
    chunks: List[bytes] = []
    existing: List[Tuple[str, str]] = []
    for number in range(commits):
        if number == 0:
            touched = paths[: len(paths) // 2]
        elif rng.random() < 0.05 and len(existing) < len(paths):
            touched = [paths[len(existing)]]  # add a new file
        elif rng.random() < 0.1:
            touched = rng.sample(existing, 2)  # two modified files: not a candidate
        else:
            touched = [rng.choice(existing)]
        message = f"Update generated content number {number}\n".encode("utf-8")
        when = 1_600_000_000 + number * 600
        chunks.append(b"commit refs/heads/main\n")
        chunks.append(f"committer Bench <bench@example.com> {when} +0000\n".encode("ascii"))
        chunks.append(f"data {len(message)}\n".encode("ascii") + message)
        for path, template in touched:
            content = _file_content(template, rng.randint(20, 200), number)
            chunks.append(f"M 100644 inline {path}\ndata {len(content)}\n".encode("utf-8") + content + b"\n")
            if (path, template) not in existing:
                existing.append((path, template))
        chunks.append(b"\n")
    return b"".join(chunks)


def generated_repository(cache_dir: Path, commits: int) -> Path:
    """The bare repository with ``commits`` generated commits, built once under ``cache_dir``
    (``octopack_common.ensure_built``: locked, stamped last, a half-built one is redone)."""
    def build(directory: Path) -> dict:
        git_dir = directory / "repo.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(git_dir)], check=True)
        started = time.perf_counter()
        subprocess.run(["git", "--git-dir", str(git_dir), "fast-import", "--quiet"],
                       input=fast_import_stream(commits), check=True)
        subprocess.run(["git", "--git-dir", str(git_dir), "gc", "-q"], check=True)
        print(f"generated {commits} commits in {git_dir} ({time.perf_counter() - started:.1f} s)")
        return {"git_dir": str(git_dir)}

    return Path(ensure_built(cache_dir / f"generated-{commits}", {"commits": commits}, build)["git_dir"])


def git_dir_of(repo: str) -> str:
    """Absolute git directory of a work tree or bare repository."""
    return subprocess.run(["git", "-C", repo, "rev-parse", "--absolute-git-dir"], check=True,
                          capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- the three contenders


def run_ours(git_dir: str) -> Dict[str, float]:
    """``CommitMiner`` over the whole history."""
    from commitpack_dataset.mining import CommitMiner

    miner = CommitMiner()
    started = time.perf_counter()
    mined = sum(1 for _ in miner.mine(git_dir))
    seconds = time.perf_counter() - started
    return {"commits": mined + sum(miner.skipped.values()), "candidates": mined, "seconds": seconds}


def run_bare(git_dir: str) -> Dict[str, float]:
    """``git log --raw -z`` to the end, then one ``git cat-file --batch`` for every candidate blob."""
    started = time.perf_counter()
    log = subprocess.run(["git", "--git-dir", git_dir, "log", "--raw", "-z", "--no-renames", "--no-abbrev",
                          "--format=%x01%H"], check=True, capture_output=True).stdout
    commits, blobs, candidates = 0, [], 0
    for record in log.split(b"\x01")[1:]:
        commits += 1
        tokens = record.split(b"\0")
        modified = [t for t in tokens if t.lstrip(b"\n").startswith(b":") and t.endswith(b" M")]
        if len(modified) == 1:
            fields = modified[0].split(b" ")
            blobs += [fields[2], fields[3]]
            candidates += 1
    out = subprocess.run(["git", "--git-dir", git_dir, "cat-file", "--batch"], input=b"\n".join(blobs) + b"\n",
                         check=True, capture_output=True).stdout
    seconds = time.perf_counter() - started
    assert out.count(b" blob ") >= len(blobs)
    return {"commits": commits, "candidates": candidates, "seconds": seconds}


def run_pydriller(repo: str, limit: int) -> Optional[Dict[str, float]]:
    """PyDriller on the first ``limit`` commits (oldest first), or ``None`` if it is not installed."""
    try:
        from pydriller import ModificationType, Repository
    except ImportError:
        print("PyDriller is not installed: `pip install pydriller` (the `benchmark` extra) to compare with it.")
        return None
    commits, candidates = 0, 0
    started = time.perf_counter()
    for commit in Repository(repo, only_in_branch=None).traverse_commits():
        commits += 1
        if len(commit.parents) == 1:
            modified = [f for f in commit.modified_files if f.change_type == ModificationType.MODIFY]
            if len(modified) == 1:
                _ = (modified[0].source_code_before, modified[0].source_code)
                candidates += 1
        if commits >= limit:
            break
    seconds = time.perf_counter() - started
    return {"commits": commits, "candidates": candidates, "seconds": seconds}


def rate(result: Dict[str, float]) -> float:
    return result["commits"] / result["seconds"]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", help="measure this repository instead of the generated one")
    parser.add_argument("--commits", type=int, default=4000, help="size of the generated history")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--pydriller-commits", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for ours and bare")
    args = parser.parse_args(argv)

    if args.repo:
        repo = args.repo
    else:
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        repo = str(generated_repository(args.cache_dir, args.commits))
    git_dir = git_dir_of(repo)

    ours = min((run_ours(git_dir) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    bare = min((run_bare(git_dir) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    pydriller = run_pydriller(repo, args.pydriller_commits)

    print(f"\nrepository: {repo}")
    print(f"{'method':<10} {'commits':>8} {'candidates':>10} {'seconds':>8} {'commits/s':>10}")
    for name, result in (("ours", ours), ("bare", bare), ("pydriller", pydriller)):
        if result is not None:
            print(f"{name:<10} {result['commits']:>8,} {result['candidates']:>10,} {result['seconds']:>8.2f} "
                  f"{rate(result):>10,.0f}")
    if ours["candidates"] != bare["candidates"]:
        print(f"WARNING: ours found {ours['candidates']} candidates, bare {bare['candidates']}")
    print(f"\nours / bare      = {rate(ours) / rate(bare):.2f}x (target >= 0.7x)")
    if pydriller is not None:
        print(f"ours / PyDriller = {rate(ours) / rate(pydriller):.1f}x (target >= 20x)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
