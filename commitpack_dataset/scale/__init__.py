"""Scale-out: the CommitPack mining, dedup and rules as a datatrove pipeline.

Three stages, each a list of datatrove steps run by datatrove's executors (local processes, Slurm
job arrays or Ray), resumable per task:

1. ``index``  — open each repository (clone, license), write its commits into hash partitions;
2. ``shared`` — per partition, the repositories holding each commit (global dedup by SHA);
3. ``mine``   — git log, first copy of each commit, CommitPack rules, languages, blobs, opt-out,
   CommitPackFT rules, Parquet per language (``data/<config>/<task>.parquet``).

    from commitpack_dataset.builders import CommitPackConfig
    from commitpack_dataset.scale import ScaleConfig, run_pipeline
    result = run_pipeline(ScaleConfig(CommitPackConfig(name="all", repositories=("a", "b")), "out/",
                                      ft=True, tasks=4, workers=2))
    print(result.table())

Records and drop counts equal the ``CommitPack``/``CommitPackFT`` builders' on the same
repositories (built as one shard). ``publish.push_parquet_languages("out/", repo_id)`` pushes the
folders as one config per language. Names are imported lazily: datatrove loads only when used.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "ScaleConfig": "commitpack_dataset.scale.config",
    "ScaleError": "commitpack_dataset.scale.config",
    "ScaleResult": "commitpack_dataset.scale.run",
    "build_executors": "commitpack_dataset.scale.run",
    "build_pipelines": "commitpack_dataset.scale.run",
    "read_results": "commitpack_dataset.scale.run",
    "run_pipeline": "commitpack_dataset.scale.run",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'commitpack_dataset.scale' has no attribute {name!r}")


__all__ = list(_LAZY)
