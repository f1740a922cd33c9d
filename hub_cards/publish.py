"""Publish a folder (a trained model with its card) to the Hub in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: What ``transformers.Trainer.push_to_hub`` leaves out too: checkpoints and private files.
DEFAULT_IGNORE = ("_*", "checkpoint-*", "checkpoint-*/**")


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
    without one.
    """
    from huggingface_hub import HfApi, ModelCard

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"nothing to push: {folder} is not a directory")
    card = folder / "README.md"
    if require_card:
        if not card.is_file():
            raise FileNotFoundError(f"{folder} has no README.md model card to publish with the model")
        if not ModelCard.load(card).data.to_dict():
            raise ValueError(f"{card} has no YAML metadata: render it with hub_cards.render_model_card")
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    ensure_branch(api, repo_id, revision)
    return api.upload_folder(
        repo_id=repo_id, folder_path=folder, revision=revision, commit_message=commit_message,
        ignore_patterns=list(ignore_patterns),
    )


def ensure_branch(api, repo_id: str, revision: str | None, repo_type: str = "model") -> None:
    """Create branch ``revision`` from the default branch unless it exists (``None``/``main``/refs: no-op)."""
    if revision is None or revision == "main" or revision.startswith("refs/"):
        return
    api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
