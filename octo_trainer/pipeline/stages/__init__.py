"""The stages of ``octopack run``, in order (:data:`STAGE_TABLE`); each module says what its stages
write. Stages read upstream outputs through the run's context (``ctx.output(name)``)."""

from __future__ import annotations

from ..stage import Stage, data_digest
from . import analysis, commits, mix, publish, teacher_data, training

STAGE_TABLE: dict[str, Stage] = {stage.name: stage for stage in (
    Stage("mine", "mine CommitPack from git history", (), commits.mine_inputs, commits.run_mine,
          digest=data_digest),
    Stage("filter", "filter to CommitPackFT", ("mine",), commits.filter_inputs, commits.run_filter,
          digest=data_digest),
    Stage("oss_instruct", "OSS-Instruct from the teacher", (), teacher_data.oss_inputs,
          teacher_data.run_oss_instruct, enabled=lambda config: config.oss_instruct.enabled, digest=data_digest),
    Stage("evol_instruct", "Evol-Instruct from the teacher", (), teacher_data.evol_inputs,
          teacher_data.run_evol_instruct, enabled=lambda config: config.evol_instruct.enabled,
          digest=data_digest),
    Stage("mix", "the OctoCoder mix, decontaminated", ("filter",), mix.mix_inputs, mix.run_mix,
          digest=data_digest),
    Stage("analysis", "data analysis (Magicoder's figures)", (), analysis.analysis_inputs, analysis.run_analysis,
          enabled=lambda config: config.analysis.enabled),
    Stage("sft", "LoRA fine-tuning with the recipe", (), training.sft_inputs, training.run_sft),
    Stage("eval", "HumanEvalPack with the runner", ("sft",), training.eval_inputs, training.run_eval),
    Stage("publish", "cards, push and pull back", ("mine", "filter", "oss_instruct", "evol_instruct", "mix",
                                                    "sft", "eval"),
          publish.publish_inputs, publish.run_publish, enabled=lambda config: config.publish.enabled),
)}
