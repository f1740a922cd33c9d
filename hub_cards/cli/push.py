"""``octopack hub push dataset|metric|model|recipes|results``: one commit each, or a ``--dry-run``."""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
from pathlib import Path

METRIC_PACKAGE = "humanevalpack_metric"
FACTS_FILE = "card_facts.json"


def _common(parser: argparse.ArgumentParser, private: bool = True) -> None:
    parser.add_argument("--revision", help="branch to push to (created from main if missing)")
    if private:
        parser.add_argument("--private", action="store_true", help="create the repository private "
                            "(refused if it exists and is public)")
    parser.add_argument("--dry-run", action="store_true", help="print the files and the card; send nothing")
    parser.add_argument("--message", help="commit message")


def add_push_parser(commands) -> argparse.ArgumentParser:
    """Register ``push`` (with its kinds) on a subparsers object."""
    push = commands.add_parser("push", help="push a dataset, the metric Space, a model, recipes or results")
    kinds = push.add_subparsers(dest="kind", required=True)

    dataset = kinds.add_parser("dataset", help="Parquet/JSONL per config under FOLDER/data/<config>/, with its card")
    dataset.add_argument("folder", type=Path, help="folder holding data/<config>/*.parquet (or *.jsonl)")
    dataset.add_argument("repo_id", help="dataset repository, owner/name")
    dataset.add_argument("--facts", type=Path, help=f"dataset card facts JSON (default: FOLDER/{FACTS_FILE}; "
                         "see hub_cards.DatasetCardFacts)")
    dataset.add_argument("--split", default="train")
    dataset.add_argument("--max-shard-size", default="500MB")
    _common(dataset)
    dataset.set_defaults(handler=push_dataset_command)

    metric = kinds.add_parser("metric", help="the evaluate metric as a Space: evaluate.load(REPO_ID) runs it")
    metric.add_argument("repo_id", help="Space, owner/name (the module is uploaded as name.py)")
    metric.add_argument("--module", type=Path, help=f"metric module (default: the installed {METRIC_PACKAGE})")
    metric.add_argument("--card", type=Path, help="metric card README.md (default: the one beside the module)")
    metric.add_argument("--requirement", action="append", dest="requirements",
                        help="a requirements.txt line (repeat; default: the distribution shipping the module)")
    _common(metric)
    metric.set_defaults(handler=push_metric_command)

    model = kinds.add_parser("model", help="a trained model or adapter folder with its card")
    model.add_argument("folder", type=Path)
    model.add_argument("repo_id", help="model repository, owner/name")
    model.add_argument("--results", type=Path, help="HumanEvalPack results.json to put in the card first")
    _common(model)
    model.set_defaults(handler=push_model_command)

    add_recipes_push(kinds)

    results = kinds.add_parser("results", help="update a pushed model's card with new evaluation results")
    results.add_argument("results", type=Path, help="the evaluation runner's results.json")
    results.add_argument("repo_id", help="model repository, owner/name")
    _common(results, private=False)
    results.set_defaults(handler=push_results_command)
    return push


def add_recipes_push(commands, name: str = "recipes") -> None:
    from hub_cards.recipe_push import PUSH_REPO_TYPES

    recipes = commands.add_parser(name, help="push recipe YAML files with a generated README")
    recipes.add_argument("folder", type=Path, help="folder of recipes (<method>/<variant>.yaml)")
    recipes.add_argument("repo_id", help="Hub repository, owner/name")
    recipes.add_argument("--files", nargs="+", help="files or globs relative to FOLDER (default: all YAML)")
    recipes.add_argument("--repo-type", choices=PUSH_REPO_TYPES, default="model")
    recipes.add_argument("--license", help="license id for the card metadata, e.g. apache-2.0")
    recipes.add_argument("--create-pr", action="store_true", help="open a pull request instead")
    _common(recipes)
    recipes.set_defaults(handler=push_recipes_command)


def _private(args) -> bool | None:
    return True if getattr(args, "private", False) else None


def _finish(plan_or_commit, args, what: str) -> int:
    """Print the dry-run preview, or the commit of a push."""
    if args.dry_run:
        print(plan_or_commit if isinstance(plan_or_commit, str) else plan_or_commit.preview())
        return 0
    commit = plan_or_commit
    where = f" @ {args.revision}" if getattr(args, "revision", None) else ""
    print(f"pushed {what} to {commit.repo_url.repo_id}{where} in commit {commit.oid}")
    print(commit.commit_url)
    return 0


# -- datasets ---------------------------------------------------------------------------------------


def read_facts(path: Path) -> dict:
    try:
        facts = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"dataset card facts {path} are not JSON: {error}") from None
    if not isinstance(facts, dict):
        raise ValueError(f"dataset card facts {path} must be a JSON object (hub_cards.DatasetCardFacts)")
    return facts


def folder_configs(folder: Path) -> dict:
    """``{config: Parquet files or a Dataset read from JSONL}`` of ``folder/data/<config>/``."""
    data = folder / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{folder} has no data/<config>/ folders: lay the files out as "
                                "data/<config>/*.parquet (or *.jsonl), one folder per config")
    configs: dict = {}
    for directory in sorted(p for p in data.iterdir() if p.is_dir()):
        parquet = sorted(directory.glob("*.parquet"))
        jsonl = sorted(p for p in directory.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz", ".json")))
        if parquet:
            configs[directory.name] = parquet
        elif jsonl:
            from datasets import Dataset

            configs[directory.name] = Dataset.from_json([str(p) for p in jsonl])
    if not configs:
        raise FileNotFoundError(f"no *.parquet or *.jsonl files under {data}/<config>/")
    return configs


def config_rows(data) -> int:
    if isinstance(data, list):
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(path).metadata.num_rows for path in data)
    return len(data)


def dataset_card_from_facts(facts: dict, repo_id: str, configs: dict, split: str, revision: str | None):
    """The card of ``facts`` for the data being pushed; rows per config must agree with the data."""
    from hub_cards.dataset_card import render_dataset_card

    facts = {**facts, "repo_id": repo_id, "split": split}
    if revision:
        facts["revision"] = revision
    counted = {name: config_rows(data) for name, data in configs.items()}
    given = facts.get("configs") or {name: {"rows": rows} for name, rows in counted.items()}
    for name, rows in counted.items():
        stated = (given.get(name) or {}).get("rows")
        if stated is not None and stated != rows:
            raise ValueError(f"the card facts say config {name!r} has {stated} rows, the data has {rows}: "
                             "rebuild the facts with the data")
    facts["configs"] = {name: {**given.get(name, {}), "rows": counted[name]} for name in counted}
    return render_dataset_card(facts)


def push_dataset_command(args) -> int:
    from hub_cards.dataset_push import dataset_plan, push_dataset

    configs = folder_configs(args.folder)
    facts_path = args.facts or (args.folder / FACTS_FILE)
    card = None
    if args.facts is not None or facts_path.is_file():
        card = dataset_card_from_facts(read_facts(facts_path), args.repo_id, configs, args.split, args.revision)
    else:
        print(f"note: no {FACTS_FILE} in {args.folder} and no --facts: the card lists the configs only "
              "(write the facts, hub_cards.DatasetCardFacts, for a card users can trust)")
    options = dict(card=card, split=args.split, revision=args.revision, private=_private(args),
                   max_shard_size=args.max_shard_size, commit_message=args.message)
    if args.dry_run:
        with tempfile.TemporaryDirectory(prefix="octopack-dry-run-") as workdir:
            plan = dataset_plan(args.repo_id, configs, workdir, **options)
            plan.check()
            return _finish(plan.preview(), args, "")
    commit = push_dataset(args.repo_id, configs, **options)
    return _finish(commit, args, f"{len(configs)} config(s) ({', '.join(configs)})")


# -- the metric, models, recipes, results -------------------------------------------------------------


def installed_metric() -> tuple[Path, Path]:
    """The module and card of the installed metric package, found without importing it."""
    spec = importlib.util.find_spec(METRIC_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{METRIC_PACKAGE} is not installed: pass --module and --card")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / f"{METRIC_PACKAGE}.py", folder / "README.md"


def push_metric_command(args) -> int:
    from hub_cards.metric_space import metric_plan
    from hub_cards.commit import push_plan

    default_module, default_card = installed_metric() if args.module is None or args.card is None else (None, None)
    module = args.module or default_module
    card = args.card or (module.parent / "README.md" if args.module else default_card)
    plan = metric_plan(module, card, args.repo_id, requirements=args.requirements, revision=args.revision,
                       private=_private(args), commit_message=args.message)
    if args.dry_run:
        plan.check()
        return _finish(plan, args, "")
    code = _finish(push_plan(plan), args, f"the metric Space ({module.name})")
    print(plan.notes[0])
    return code


def push_model_command(args) -> int:
    from hub_cards.commit import push_plan
    from hub_cards.model_card import update_model_card
    from hub_cards.publish import model_plan

    plan = model_plan(args.folder, args.repo_id, revision=args.revision, private=_private(args),
                      **({"commit_message": args.message} if args.message else {}))
    if args.results is not None:
        card = update_model_card(plan.text("README.md"), args.results)
        plan.files["README.md"] = str(card).encode("utf-8")
        plan.notes.append(f"the card carries the results of {args.results} (the folder's README.md is unchanged)")
    if args.dry_run:
        plan.check()
        return _finish(plan, args, "")
    return _finish(push_plan(plan), args, f"{len(plan.files)} file(s)")


def push_recipes_command(args) -> int:
    from hub_cards.commit import push_plan
    from hub_cards.recipe_push import collect_recipes, recipes_plan, remote_recipes
    from hub_cards.recipes import recipe_url

    recipes = collect_recipes(args.folder, args.files)
    remote = {} if args.dry_run else remote_recipes(args.repo_id, repo_type=args.repo_type, revision=args.revision)
    plan = recipes_plan(args.folder, args.repo_id, files=list(recipes), repo_type=args.repo_type,
                        revision=args.revision, private=_private(args), license=args.license,
                        commit_message=args.message, create_pr=args.create_pr, remote=remote)
    if args.dry_run:
        plan.check()
        return _finish(plan, args, "")
    commit = push_plan(plan)
    revision = commit.pr_revision if args.create_pr else args.revision
    print(f"pushed {len(recipes)} recipe(s) to {commit.repo_url.repo_id} in commit {commit.oid}")
    for path in recipes:
        print(recipe_url(commit.repo_url.repo_id, path, revision=revision, repo_type=args.repo_type))
    return 0


def push_results_command(args) -> int:
    from huggingface_hub import hf_hub_download

    from hub_cards.commit import CommitPlan, push_plan
    from hub_cards.model_card import update_model_card

    readme = Path(hf_hub_download(args.repo_id, "README.md", revision=args.revision))
    card = update_model_card(readme.read_text(encoding="utf-8"), args.results)
    plan = CommitPlan(args.repo_id, {"README.md": str(card).encode("utf-8")}, revision=args.revision,
                      commit_message=args.message or f"Update evaluation results ({args.results.name})")
    if args.dry_run:
        plan.check()
        return _finish(plan, args, "")
    return _finish(push_plan(plan), args, "the model card with new results")
