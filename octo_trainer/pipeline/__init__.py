"""``octopack run``: the main job, end to end, on embedded defaults.

    from octo_trainer.pipeline import load_config, run_pipeline
    summary = run_pipeline(load_config("real-teacher.yaml", overrides=["eval.limit=10"]))
    summary.report        # <run_dir>/report.html

Modules: :mod:`.config` (the config tree and its defaults), :mod:`.schema` (typed YAML with clear
errors), :mod:`.stage` (fingerprints and completion markers), :mod:`.services` (the teacher and the
dev hub a run starts for itself), :mod:`.runner` (the stages in order, reuse, the run directory),
:mod:`.stages` (what each stage does), :mod:`.report` and :mod:`.plots` (the HTML report).
"""

from .config import STAGES, ConfigError, PipelineConfig, example_configs, load_config, reference
from .runner import PipelineError, RunSummary, print_summary, run_pipeline

__all__ = ["STAGES", "ConfigError", "PipelineConfig", "PipelineError", "RunSummary", "example_configs",
           "load_config", "print_summary", "reference", "run_pipeline"]
