"""``octopack hub``: push and pull everything the suite makes, render cards, run the dev hub.

    octopack hub push dataset FOLDER REPO_ID [--facts card_facts.json] [--split train]
    octopack hub push metric  REPO_ID [--module humanevalpack_metric.py --card README.md] [--requirement R]
    octopack hub push model   FOLDER REPO_ID [--results results.json]
    octopack hub push recipes FOLDER REPO_ID [--files GLOB ...] [--repo-type model|dataset] [--license ID]
    octopack hub push results results.json REPO_ID        # new evaluation results, no retraining
        every push: [--revision BRANCH] [--private] [--dry-run] [--message TEXT]
    octopack hub pull dataset|metric|model REPO_ID [--revision R] [--output DIR] [--config C]
    octopack hub pull recipe hf://owner/repo[@revision]/path.yaml [--output FILE]
    octopack hub card dataset card_facts.json [--output README.md]
    octopack hub card results results.json README.md [--output README.md]
    octopack hub serve [--port 8900] [--root DIR] [--token T]

Every push is one commit (``hub_cards.commit``); ``--dry-run`` prints the files and the card and
sends nothing. ``HF_ENDPOINT`` and ``HF_TOKEN`` (or ``hf auth login``) apply; pulls work offline
(``HF_HUB_OFFLINE=1``) from the cache once pulled. Errors print one line and exit 1.

``make_parser(subparsers)`` mounts the whole command under another CLI (``octopack hub ...``);
``add_push_parser``/``add_pull_parser`` mount ``push``/``pull`` alone. ``octopack-recipes``
(:func:`main`) is the older ``push``/``pull`` of recipes, kept as an alias.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hub_cards.cli.pull import add_pull_parser
from hub_cards.cli.push import add_push_parser

PROG = "octopack-hub"


def make_parser(subparsers=None, name: str = "hub") -> argparse.ArgumentParser:
    """The ``octopack hub`` parser, or its ``name`` subcommand on ``subparsers`` (TRL's pattern)."""
    description = "Push and pull everything the suite makes, render cards, run the dev hub."
    if subparsers is None:
        parser = argparse.ArgumentParser(prog=PROG, description=description)
    else:
        parser = subparsers.add_parser(name, help=description, description=description)
    commands = parser.add_subparsers(dest="hub_command", required=True)
    add_push_parser(commands)
    add_pull_parser(commands)
    _add_card_parser(commands)
    _add_serve_parser(commands)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run parsed arguments (of :func:`make_parser`); errors print one line and return 1."""
    from huggingface_hub.errors import HfHubHTTPError

    from hub_cards.commit import HubPushError

    try:
        return args.handler(args)
    except (OSError, ValueError, HubPushError, HfHubHTTPError) as error:  # ours subclass these
        print(f"{getattr(args, 'prog', PROG)}: error: {str(error).strip() or type(error).__name__}", file=sys.stderr)
        return 1


def hub_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``octopack hub``."""
    return run(make_parser().parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """``octopack-recipes push DIR REPO_ID ...`` / ``pull hf://...``: the recipe commands of
    ``octopack hub push recipes`` / ``pull recipe`` under their older name."""
    parser = argparse.ArgumentParser(prog="octopack-recipes", description="Push and pull SFT recipes "
                                     "(an alias of `octopack-hub push recipes` / `octopack-hub pull recipe`).")
    commands = parser.add_subparsers(dest="command", required=True)
    from hub_cards.cli.pull import add_recipe_pull
    from hub_cards.cli.push import add_recipes_push

    add_recipes_push(commands, name="push")
    add_recipe_pull(commands, name="pull")
    args = parser.parse_args(argv)
    args.prog = "octopack-recipes"
    return run(args)


def _add_card_parser(commands) -> None:
    card = commands.add_parser("card", help="render a card locally (no Hub)")
    kinds = card.add_subparsers(dest="card_kind", required=True)
    dataset = kinds.add_parser("dataset", help="a dataset card from its facts (hub_cards.DatasetCardFacts JSON)")
    dataset.add_argument("facts", type=Path)
    dataset.add_argument("--output", "-o", type=Path, help="write the card here (default: print it)")
    dataset.set_defaults(handler=_card_dataset)
    results = kinds.add_parser("results", help="put HumanEvalPack results into a model card")
    results.add_argument("results", type=Path, help="the evaluation runner's results.json")
    results.add_argument("card", type=Path, help="the model card (README.md) to update")
    results.add_argument("--output", "-o", type=Path, help="write here (default: update CARD in place)")
    results.set_defaults(handler=_card_results)


def _card_dataset(args: argparse.Namespace) -> int:
    from hub_cards.cli.push import read_facts
    from hub_cards.dataset_card import render_dataset_card

    card = str(render_dataset_card(read_facts(args.facts)))
    return _emit(card, args.output)


def _card_results(args: argparse.Namespace) -> int:
    from hub_cards.model_card import update_model_card

    card = update_model_card(args.card.read_text(encoding="utf-8"), args.results)
    return _emit(str(card), args.output or args.card)


def _emit(text: str, output: Path | None) -> int:
    if output is None:
        print(text)
        return 0
    from octopack_common import write_text_atomic

    write_text_atomic(output, text)
    print(output)
    return 0


def _add_serve_parser(commands) -> None:
    from hub_cards.dev_hub.store import DEFAULT_NAMESPACE

    serve = commands.add_parser("serve", help="run the dev hub: a local Hub-API server for offline work and tests",
                                description="Serve a local Hub (hub_cards.dev_hub) and print the variables to "
                                            "export so the Hugging Face libraries use it.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8900)
    serve.add_argument("--root", type=Path, default=Path("~/.cache/octopack/dev-hub"),
                       help="where repositories are stored (kept across restarts)")
    serve.add_argument("--token", help="the token to accept (default: one made once per root)")
    serve.add_argument("--namespace", default=DEFAULT_NAMESPACE, help="the user name of the token")
    serve.add_argument("--log", action="store_true", help="print every request to stderr")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from hub_cards.dev_hub import serve

    return serve(args.root, host=args.host, port=args.port, token=args.token, namespace=args.namespace,
                 log=args.log)

