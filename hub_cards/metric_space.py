"""An ``evaluate`` metric published as a Space, so ``evaluate.load("<ns>/<name>")`` pulls and runs it.

What ``evaluate`` 0.4.6 reads for a ``ns/name`` path (``evaluate/loading.py``,
``HubEvaluationModuleFactory``): ``{HF_ENDPOINT}/spaces/ns/name/resolve/<revision>/name.py`` -- the
module must be named after the Space -- plus any file the module imports relatively
(``from .helpers import x`` -> ``helpers.py`` beside it). Absolute imports must be installed: the
Space's ``requirements.txt`` installs them where the Space runs, and ``evaluate`` tells a local user
which ``pip install`` is missing. The layout :func:`metric_space_files` builds::

    <name>.py          the metric module, byte for byte (its HF_ALLOW_CODE_EVAL opt-in included)
    <helper>.py        modules it imports relatively, if any
    README.md          the metric card, its YAML completed for a Space (sdk: gradio, app_file: app.py,
                       tags evaluate + metric, title)
    requirements.txt   what the module needs (default: the distribution that ships it, pinned)
    app.py             the widget: evaluate.load("<ns>/<name>") + evaluate.utils.launch_gradio_widget

``hub_cards`` never imports the metric: it takes the module file and the card as paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from hub_cards.commit import CommitPlan, push_plan
from hub_cards.metadata import MetadataError, read_front_matter

SPACE_SDK = "gradio"
APP_FILE = "app.py"
METRIC_TAGS = ("evaluate", "metric")
_RELATIVE_IMPORT = re.compile(r"^(?:from\s+\.([A-Za-z_]\w*)\s+import|import\s+\.([A-Za-z_]\w*))", re.MULTILINE)
_APP = '''"""The widget of this metric Space (evaluate's standard one).

Executing model-written code is opt-in: set HF_ALLOW_CODE_EVAL=1 in the Space's settings
(variables) to let the widget compute; everyone who loads the metric makes the same choice.
"""
import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load({repo_id!r})
launch_gradio_widget(module)
'''


class MetricSpaceError(ValueError):
    """A metric module or card that cannot become a Space; the message says what to fix."""


def space_name(repo_id: str) -> str:
    """The Space's name, which is also the module's file name (``name.py``)."""
    if repo_id.count("/") != 1:
        raise MetricSpaceError(f"a metric Space is namespace/name, got {repo_id!r}")
    name = repo_id.split("/")[1]
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise MetricSpaceError(f"Space name {name!r} must be letters, digits, '-', '_' or '.'")
    return name


def default_requirements(module: str | Path) -> list[str]:
    """The installed distribution shipping the module's package, pinned (e.g. ``octopack==0.1.0``)."""
    package = Path(module).resolve().parent.name
    distributions = metadata.packages_distributions().get(package) or []
    if not distributions:
        raise MetricSpaceError(
            f"no installed distribution ships the package {package!r} of {module}: pass the "
            "requirements the Space needs (--requirement 'mypkg==1.0')")
    name = distributions[0]
    return [f"{name}=={metadata.version(name)}"]


def space_card(card_text: str, repo_id: str, requirements: Sequence[str] = ()) -> str:
    """The metric card with the Space fields its YAML needs (other fields kept) and, under its title,
    how to load it from this Space."""
    from huggingface_hub import RepoCard

    try:
        metadata_block = read_front_matter(card_text)
    except MetadataError as error:
        raise MetricSpaceError(f"the metric card's YAML: {error}") from None
    if metadata_block is None:
        card_text = f"---\n---\n{card_text}"
    card = RepoCard(card_text)
    data = card.data
    data["title"] = data.get("title") or space_name(repo_id)
    data["sdk"] = SPACE_SDK
    data["app_file"] = APP_FILE
    data["tags"] = list(dict.fromkeys([*(data.get("tags") or []), *METRIC_TAGS]))
    install = f"`pip install {' '.join(requirements)}`, then " if requirements else ""
    note = (f"> **From this Space:** {install}with `HF_ALLOW_CODE_EVAL=1` set (running model-written code is "
            f'opt-in), `evaluate.load("{repo_id}")`.')
    lines = card.text.splitlines()
    title = next((index for index, line in enumerate(lines) if line.startswith("# ")), None)
    at = title + 1 if title is not None else 0
    lines[at:at] = ["", note]
    card.text = "\n".join(lines) + "\n"
    return str(card)


def metric_space_files(module: str | Path, card: str | Path, repo_id: str, *,
                       requirements: Sequence[str] | None = None) -> dict[str, bytes | Path]:
    """``{path in the Space: content}`` of the layout in the module docstring."""
    module, card = Path(module), Path(card)
    for path, what in ((module, "metric module"), (card, "metric card (README.md)")):
        if not path.is_file():
            raise MetricSpaceError(f"the {what} {path} does not exist")
    name = space_name(repo_id)
    source = module.read_text(encoding="utf-8")
    if not re.search(r"^class\s+\w+\(\s*evaluate\.(?:Metric|Comparison|Measurement)\s*\)", source, re.MULTILINE):
        raise MetricSpaceError(f"{module} defines no evaluate.Metric subclass: evaluate.load would find no metric")
    files: dict[str, bytes | Path] = {f"{name}.py": module}
    for match in _RELATIVE_IMPORT.finditer(source):
        helper = module.parent / f"{match.group(1) or match.group(2)}.py"
        if not helper.is_file():
            raise MetricSpaceError(f"{module} imports {helper.name} relatively, which is not beside it")
        if helper.stem == name:
            raise MetricSpaceError(f"{module} imports .{helper.stem}, the name the module itself gets in the Space")
        files[helper.name] = helper
    lines = list(requirements) if requirements is not None else default_requirements(module)
    files["README.md"] = space_card(card.read_text(encoding="utf-8"), repo_id, lines).encode("utf-8")
    files["requirements.txt"] = ("\n".join(lines) + "\n").encode("utf-8")
    files[APP_FILE] = _APP.format(repo_id=repo_id).encode("utf-8")
    return files


def metric_plan(module: str | Path, card: str | Path, repo_id: str, *, requirements: Sequence[str] | None = None,
                revision: str | None = None, private: bool | None = None,
                commit_message: str | None = None) -> CommitPlan:
    """The one commit that publishes the metric Space (what ``--dry-run`` shows)."""
    files = metric_space_files(module, card, repo_id, requirements=requirements)
    plan = CommitPlan(repo_id, files, repo_type="space", space_sdk=SPACE_SDK, revision=revision, private=private,
                      commit_message=commit_message or f"Publish the metric {space_name(repo_id)}")
    plan.notes.append(f'load it with evaluate.load("{repo_id}"' + (f', revision="{revision}"' if revision else "")
                      + ") after export HF_ALLOW_CODE_EVAL=1")
    return plan


def push_metric(module: str | Path, card: str | Path, repo_id: str, *, requirements: Sequence[str] | None = None,
                revision: str | None = None, private: bool | None = None, token: str | bool | None = None,
                commit_message: str | None = None):
    """Publish the metric as the Space ``repo_id`` in one commit; return the ``CommitInfo``."""
    plan = metric_plan(module, card, repo_id, requirements=requirements, revision=revision, private=private,
                       commit_message=commit_message)
    return push_plan(plan, token=token)
