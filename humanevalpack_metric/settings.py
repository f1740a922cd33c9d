"""The metric's own environment variable, ``HF_ALLOW_CODE_EVAL``, and the opt-in it guards.

The cache directory (``OCTOPACK_CACHE_DIR``) is octopack's, not the metric's:
:func:`octopack_common.cache_dir`. Language-specific variables live in their language module.
"""

from __future__ import annotations

import os

ALLOW_CODE_EVAL = "HF_ALLOW_CODE_EVAL"

CODE_EVAL_WARNING = f"""
################################################################################
                                  !!!WARNING!!!
################################################################################
This metric executes untrusted, model-generated programs in six languages.
octopack runs every program in a sandbox (bubblewrap: no network, read-only
system, private work dir, its own PID namespace, CPU/memory/file/process and
output limits), but no sandbox is perfect: prefer a throwaway machine or VM.

Opt in by setting the environment variable {ALLOW_CODE_EVAL}="1", e.g.
    import os; os.environ["{ALLOW_CODE_EVAL}"] = "1"
or on the command line:  {ALLOW_CODE_EVAL}=1 humanevalpack-eval ...
################################################################################
"""


class CodeEvalNotAllowed(PermissionError):
    pass


def require_code_eval_opt_in() -> None:
    """Raise unless the user opted in to executing untrusted code."""
    if os.environ.get(ALLOW_CODE_EVAL) != "1":
        raise CodeEvalNotAllowed(CODE_EVAL_WARNING)

