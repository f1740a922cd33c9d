"""``octopack hub pull dataset|metric|model|recipe``: into the Hub cache (offline once pulled)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO_TYPE = {"dataset": "dataset", "metric": "space", "model": "model"}


def add_pull_parser(commands) -> argparse.ArgumentParser:
    """Register ``pull`` (with its kinds) on a subparsers object."""
    pull = commands.add_parser("pull", help="download a dataset, the metric Space, a model or a recipe")
    kinds = pull.add_subparsers(dest="kind", required=True)
    for kind, help_text in (("dataset", "a dataset repository (README and data files)"),
                            ("metric", "a metric Space (evaluate.load then runs from the cache)"),
                            ("model", "a model or adapter repository")):
        parser = kinds.add_parser(kind, help=help_text)
        parser.add_argument("repo_id", help="owner/name")
        parser.add_argument("--revision", help="branch, tag, refs/pr/N or commit")
        parser.add_argument("--output", type=Path, help="copy the files into this folder (default: the cache only)")
        if kind == "dataset":
            parser.add_argument("--config", action="append", help="only this config's files (repeatable)")
        parser.set_defaults(handler=pull_command)
    add_recipe_pull(kinds)
    return pull


def add_recipe_pull(commands, name: str = "recipe") -> None:
    recipe = commands.add_parser(name, help="download one recipe by hf:// URL")
    recipe.add_argument("url", help="hf://[datasets/|spaces/]owner/repo[@revision]/path.yaml")
    recipe.add_argument("--output", type=Path, help="copy the recipe to this file")
    recipe.set_defaults(handler=pull_recipe_command)


def pull_command(args) -> int:
    from hub_cards.commit import pull
    from hub_cards.dataset_card import load_line
    from hub_cards.dataset_push import config_data_dir

    patterns = None
    if getattr(args, "config", None):
        patterns = ["README.md", *(f"{config_data_dir(name)}/*" for name in args.config)]
    pulled = pull(args.repo_id, repo_type=REPO_TYPE[args.kind], revision=args.revision, allow_patterns=patterns,
                  local_dir=args.output)
    print(pulled.path)
    if pulled.commit:
        print(f"commit {pulled.commit}")
    revision = f", revision={json.dumps(args.revision)}" if args.revision else ""
    if args.kind == "dataset":
        for name in args.config or [None]:
            print(f"from datasets import load_dataset; {load_line(args.repo_id, name, revision=args.revision)}")
    elif args.kind == "metric":
        print(f"HF_ALLOW_CODE_EVAL=1; import evaluate; evaluate.load({json.dumps(args.repo_id)}{revision})")
    return 0


def pull_recipe_command(args) -> int:
    from hub_cards.recipes import pull_recipe

    pulled = pull_recipe(args.url)
    path = pulled.path
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copyfile(pulled.path, args.output))
    print(path)
    print(pulled.pinned_url)
    return 0
