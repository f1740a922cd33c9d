"""Publish a folder (a trained model or adapter with its card) to the Hub in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hub_cards.commit import CommitPlan, ensure_branch, files_from_folder, push_plan

#: What ``transformers.Trainer.push_to_hub`` leaves out too: checkpoints and private files.
DEFAULT_IGNORE = ("_*", "checkpoint-*", "checkpoint-*/**")

__all__ = ["DEFAULT_IGNORE", "ensure_branch", "model_plan", "push_folder"]


def model_plan(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload model trained with octopack",
    ignore_patterns: Sequence[str] = DEFAULT_IGNORE,
    require_card: bool = True,
) -> CommitPlan:
    """The :class:`~hub_cards.commit.CommitPlan` of :func:`push_folder` (what ``--dry-run`` shows)."""
    from huggingface_hub import ModelCard

    folder = Path(folder)
    files = files_from_folder(folder, ignore_patterns)
    card = folder / "README.md"
    if require_card:
        if not card.is_file():
            raise FileNotFoundError(f"{folder} has no README.md model card to publish with the model")
        if not ModelCard.load(card).data.to_dict():
            raise ValueError(f"{card} has no YAML metadata: render it with hub_cards.render_model_card")
    return CommitPlan(repo_id, files, repo_type="model", revision=revision, private=private,
                      commit_message=commit_message)


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    token: str | bool | None = None,
    commit_message: str = "Upload model trained with octopack",
    ignore_patterns: Sequence[str] = DEFAULT_IGNORE,
    require_card: bool = True,
):
    """Upload ``folder`` to the model repository ``repo_id`` (created if missing); return the ``CommitInfo``.

    ``revision`` is a branch, created from the default branch when missing. With ``require_card``
    the folder must hold a ``README.md`` with YAML metadata (the card), so nothing is published
    without one. One commit (:func:`hub_cards.commit.push_plan`); files already in the repository
    and not in the folder stay.
    """
    plan = model_plan(folder, repo_id, revision=revision, private=private, commit_message=commit_message,
                      ignore_patterns=ignore_patterns, require_card=require_card)
    return push_plan(plan, token=token)
