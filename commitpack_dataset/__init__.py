"""CommitPack / CommitPackFT as `datasets` builders: mine git repositories, apply the paper's rules.

    from commitpack_dataset import CommitPack, CommitPackFT
    builder = CommitPackFT(config_name="python", repositories=("path/to/repo",))
    builder.download_and_prepare()
    dataset = builder.as_dataset("train")

Names are imported lazily so that ``import commitpack_dataset`` stays light.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "CommitPack": "commitpack_dataset.builders",
    "CommitPackFT": "commitpack_dataset.builders",
    "CommitPackConfig": "commitpack_dataset.builders",
    "CommitMiner": "commitpack_dataset.mining",
    "language_of": "commitpack_dataset.languages",
    "config_name": "commitpack_dataset.languages",
    "OSSInstruct": "commitpack_dataset.oss_instruct",
    "OSSInstructConfig": "commitpack_dataset.oss_instruct",
    "EvolInstruct": "commitpack_dataset.evol_instruct",
    "EvolInstructConfig": "commitpack_dataset.evol_instruct",
    "OctoCoderMix": "commitpack_dataset.octocoder_mix",
    "OctoCoderMixConfig": "commitpack_dataset.octocoder_mix",
    "Decontaminator": "commitpack_dataset.decontamination",
    "Benchmark": "commitpack_dataset.decontamination",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'commitpack_dataset' has no attribute {name!r}")


__all__ = list(_LAZY)
