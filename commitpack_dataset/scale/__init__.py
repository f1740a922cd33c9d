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
folders as one config per language. datatrove itself is imported only when a pipeline is built.
"""

from __future__ import annotations

from commitpack_dataset.scale.config import ScaleConfig, ScaleError
from commitpack_dataset.scale.run import (
    ScaleResult,
    build_executors,
    build_pipelines,
    read_results,
    run_pipeline,
)

__all__ = ["ScaleConfig", "ScaleError", "ScaleResult", "build_executors", "build_pipelines",
           "read_results", "run_pipeline"]
