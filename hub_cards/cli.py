"""``octopack-recipes``: push recipe YAML files to a Hub repository, pull one back.

    octopack-recipes push DIR REPO_ID [--files GLOB ...] [--revision BRANCH] [--private]
                                      [--repo-type model|dataset] [--license ID] [--create-pr]
    octopack-recipes pull hf://owner/repo[@revision]/path.yaml [--output FILE]

``push`` uploads every ``*.yaml``/``*.yml`` under DIR (paths in the repository are relative to
DIR; ``--files`` picks files or globs such as ``'tiny-cpu/*.yaml'``) with a generated README, and
prints the commit and the ``hf://`` URL of each recipe. ``pull`` downloads one recipe (into the Hub
cache, or copied to ``--output``) and prints its local path and the URL pinned to its commit.
``HF_ENDPOINT`` and ``HF_TOKEN`` (or ``hf auth login``) apply. Errors print one line and exit 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from hub_cards.recipe_push import PUSH_REPO_TYPES, collect_recipes, push_recipes
from hub_cards.recipes import RecipeNotFoundError, RecipeURLError, pull_recipe, recipe_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="octopack-recipes", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    push = commands.add_parser("push", help="push recipe YAML files with a generated README")
    push.add_argument("folder", type=Path, help="folder of recipes (<method>/<variant>.yaml)")
    push.add_argument("repo_id", help="Hub repository, owner/name")
    push.add_argument("--files", nargs="+", help="files or globs relative to FOLDER (default: all YAML)")
    push.add_argument("--revision", help="branch to push to (created from main if missing)")
    push.add_argument("--repo-type", choices=PUSH_REPO_TYPES, default="model")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.add_argument("--license", help="license id for the card metadata, e.g. apache-2.0")
    push.add_argument("--create-pr", action="store_true", help="open a pull request instead")
    push.add_argument("--message", help="commit message")
    pull = commands.add_parser("pull", help="download one recipe by hf:// URL")
    pull.add_argument("url", help="hf://[datasets/|spaces/]owner/repo[@revision]/path.yaml")
    pull.add_argument("--output", type=Path, help="copy the recipe to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from huggingface_hub.errors import HfHubHTTPError

    args = build_parser().parse_args(argv)
    try:
        if args.command == "push":
            return _push(args)
        return _pull(args)
    except (RecipeURLError, RecipeNotFoundError, OSError, ValueError, HfHubHTTPError) as error:
        print(f"octopack-recipes: error: {error}", file=sys.stderr)
        return 1


def _push(args: argparse.Namespace) -> int:
    recipes = collect_recipes(args.folder, args.files)
    commit = push_recipes(
        args.folder, args.repo_id, files=list(recipes), repo_type=args.repo_type,
        revision=args.revision, private=True if args.private else None, license=args.license,
        commit_message=args.message, create_pr=args.create_pr,
    )
    revision = commit.pr_revision if args.create_pr else args.revision
    print(f"pushed {len(recipes)} recipe(s) to {commit.repo_url.repo_id} in commit {commit.oid}")
    for path in recipes:
        print(recipe_url(commit.repo_url.repo_id, path, revision=revision, repo_type=args.repo_type))
    return 0


def _pull(args: argparse.Namespace) -> int:
    pulled = pull_recipe(args.url)
    path = pulled.path
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copyfile(pulled.path, args.output))
    print(path)
    print(pulled.pinned_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
