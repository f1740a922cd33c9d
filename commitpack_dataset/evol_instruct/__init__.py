"""Code Evol-Instruct (WizardCoder) -- and WizardLM's general Evol-Instruct -- as a ``datasets``
builder: seed instructions made harder by a teacher, round after round, answered by a second
teacher call, failed evolutions eliminated with a reason, decontaminated.

    from commitpack_dataset import EvolInstruct
    builder = EvolInstruct(config_name="code", cache_dir="build", seed_dataset="code_alpaca_2k.json",
                           rounds=2, model="gpt-3.5-turbo", base_url="http://127.0.0.1:8000/v1")
    builder.download_and_prepare()
    rows = builder.as_dataset("train")     # instruction, response, round, method, parent, ...
    builder.drop_statistics()              # {round: Counter(reason -> rows)}

Modules: ``prompts`` (evolution and judge prompts, method choice), ``seeds`` (seed formats),
``elimination`` (the rules), ``pipeline`` (the rounds), ``builder`` (config and builder class).
"""

from commitpack_dataset.evol_instruct.builder import FEATURES, FIELDS, EvolInstruct, EvolInstructConfig
from commitpack_dataset.evol_instruct.elimination import Thresholds, check_answer, check_instruction
from commitpack_dataset.evol_instruct.pipeline import Pipeline
from commitpack_dataset.evol_instruct.prompts import (
    CODE_METHODS,
    GENERAL_METHODS,
    MODES,
    choose_method,
    evolution_prompt,
    judge_prompt,
    judge_verdict,
    prompts_fingerprint,
)
from commitpack_dataset.evol_instruct.seeds import Seed, make_seeds, row_fingerprint

__all__ = ["CODE_METHODS", "FEATURES", "FIELDS", "GENERAL_METHODS", "MODES", "EvolInstruct", "EvolInstructConfig",
           "Pipeline", "Seed", "Thresholds", "check_answer", "check_instruction", "choose_method",
           "evolution_prompt", "judge_prompt", "judge_verdict", "make_seeds", "prompts_fingerprint",
           "row_fingerprint"]
