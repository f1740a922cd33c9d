"""The publish stage's child process: ``python -m octo_trainer.pipeline.stages.publish_child SPEC``.

Its environment points huggingface_hub, datasets, transformers and evaluate at the run's Hub (set
by :mod:`.publish` before anything is imported). It pushes, in one commit each, through
``hub_cards`` (the one write path) and the data commands' own ``push`` (which render their cards):

* the data sets of the run, one config per language, each with its dataset card;
* the model folder with its card updated with the run's ``results.json`` (``model-index``);
* the metric as a Space, and the resolved recipe (its data sources rewritten to the pushed data
  sets, so ``octopack sft --config hf://<recipes>/pipeline/sft.yaml`` re-runs it from the Hub);

then pulls each back into ``pulled/<kind>/`` and checks it: data sets load with ``load_dataset``
and equal the local rows, their cards parse and name the pushed repository and files; the
model's card results equal ``results.json`` and the adapter loads; the pulled metric computes the
local metric's numbers; the recipe is the pushed text. Everything goes to ``publish.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import octopack_common


def _url(endpoint: str, repo_type: str, repo_id: str) -> str:
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
    return f"{endpoint.rstrip('/')}/{prefix}{repo_id}"


def _local_rows(folder: Path) -> dict[str, list[dict]]:
    rows = {}
    for directory in sorted(p for p in (folder / "data").iterdir() if p.is_dir()):
        found = []
        for path in sorted(directory.glob("*.jsonl")):
            with open(path, encoding="utf-8") as handle:
                found += [json.loads(line) for line in handle if line.strip()]
        rows[directory.name] = found
    return rows


def _run_cli(parser, argv: list[str]) -> None:
    from commitpack_dataset.cli.errors import run_cli

    status = run_cli(parser, argv, prog="octopack run: publish")
    if status:
        raise RuntimeError(f"{' '.join(argv)} failed (exit status {status}; the error is above)")


def push_data(item: dict[str, Any], repo_id: str, spec: dict, names: dict[str, str], pushed: set[str]) -> None:
    """One data set of the run with its card: CommitPack(FT) from its card facts, the others through
    the ``push`` of the command whose output layout the stage wrote."""
    folder = Path(item["folder"])
    kind = item["kind"]
    private = ["--private"] if spec["private"] else []
    if kind in ("commitpack", "commitpackft"):
        from hub_cards.cli.push import dataset_card_from_facts, folder_configs, read_facts
        from hub_cards.dataset_push import push_dataset

        configs = folder_configs(folder)
        card = dataset_card_from_facts(read_facts(folder / "card_facts.json"), repo_id, configs, "train", None)
        push_dataset(repo_id, configs, card=card, private=spec["private"] or None,
                     commit_message=f"Upload {kind} (octopack run)")
        return
    from commitpack_dataset.cli import evol_instruct, octocoder_mix, oss_instruct

    licenses = spec["licenses"].get(kind) or item.get("license") or "unknown"
    argv = ["push", str(folder), repo_id, "--license", *([licenses] if isinstance(licenses, str) else licenses),
            *private]
    if kind == "octocoder-mix" and "commitpackft" in pushed:
        argv += ["--commit-dataset", names["commitpackft"]]
    module = {"oss-instruct": oss_instruct, "evol-instruct": evol_instruct, "octocoder-mix": octocoder_mix}[kind]
    _run_cli(module.make_parser(), argv)


def check_data(item: dict[str, Any], repo_id: str, pulled: Path) -> dict[str, bool]:
    from datasets import load_dataset
    from huggingface_hub import DatasetCard, HfApi

    local = _local_rows(Path(item["folder"]))
    files = set(HfApi().list_repo_files(repo_id, repo_type="dataset"))
    card = DatasetCard.load(repo_id, repo_type="dataset")
    configs = {entry["config_name"]: entry for entry in card.data.to_dict().get("configs", [])}
    equal = True
    for name, rows in local.items():
        if not rows:
            continue
        loaded = load_dataset(repo_id, name, split="train").to_list()
        columns = set(loaded[0]) if loaded else set()
        equal &= [{k: v for k, v in r.items() if k in columns} for r in rows] == loaded
    referenced = all(
        any(f.startswith(pattern["path"].split("*")[0]) for f in files)
        for entry in configs.values() for pattern in entry.get("data_files", []))
    return {"rows_equal": equal,
            "card_names_repo": repo_id in card.text,
            "card_configs": set(configs) == {n for n, r in local.items() if r},
            "card_files_exist": bool(configs) and referenced,
            "pulled": (pulled / "README.md").is_file()}


def push_model(spec: dict, repo_id: str) -> None:
    from hub_cards.commit import push_plan
    from hub_cards.model_card import update_model_card
    from hub_cards.publish import model_plan

    model = spec["model"]
    plan = model_plan(model["folder"], repo_id, private=spec["private"] or None,
                      commit_message="Upload the model fine-tuned by octopack run")
    if model.get("results"):
        card = update_model_card(plan.text("README.md"), model["results"])
        plan.files["README.md"] = str(card).encode("utf-8")
    push_plan(plan)


def check_model(spec: dict, repo_id: str, pulled: Path) -> dict[str, bool]:
    from huggingface_hub import ModelCard

    from hub_cards import card_results, parse_results

    checks = {"pulled": (pulled / "README.md").is_file()}
    card = ModelCard.load(repo_id)
    if spec["model"].get("results"):
        mine = parse_results(spec["model"]["results"])
        theirs = card_results(card)
        checks["card_results_equal"] = all(
            mine.value(task, language, k) == theirs.value(task, language, k)
            for task in mine.tasks for language in mine.languages for k in mine.ks) and bool(mine.tasks)
    if (pulled / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        checks["loads"] = AutoPeftModelForCausalLM.from_pretrained(repo_id) is not None
    else:
        from transformers import AutoModelForCausalLM

        checks["loads"] = AutoModelForCausalLM.from_pretrained(repo_id) is not None
    return checks


def push_recipe(spec: dict, repo_id: str, names: dict[str, str], pushed: set[str], out: Path) -> str:
    """The resolved recipe, its data sources pointing at the pushed data sets; returns its path."""
    import yaml

    from hub_cards import push_recipes

    recipe = yaml.safe_load(Path(spec["recipe"]).read_text(encoding="utf-8"))
    by_folder = {str(Path(item["folder"]).resolve()): item["kind"] for item in spec["datasets"]}
    sources = []
    for source in recipe.get("datasets") or []:
        path = Path(source.get("path", ""))
        folder = next((f for f in by_folder if str(path.resolve()).startswith(f + "/")), None)
        kind = by_folder.get(folder)
        if kind in pushed:
            sources.append({**source, "path": names[kind], "name": path.parent.name})
        else:
            sources.append(source)
    recipe["datasets"] = sources
    recipe["output_dir"] = "outputs/octopack-pipeline-sft"
    folder = out / "recipes"
    target = folder / "pipeline" / "sft.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = ("# The recipe `octopack run` trained with, its data sources on the Hub.\n"
              f"# Run: octopack sft --config hf://{repo_id}/pipeline/sft.yaml\n")
    octopack_common.write_text_atomic(target, header + yaml.safe_dump(recipe, sort_keys=False))
    push_recipes(folder, repo_id, private=spec["private"] or None, license="apache-2.0",
                 commit_message="Upload the pipeline's recipe")
    return "pipeline/sft.yaml"


def check_metric(spec: dict, repo_id: str) -> dict[str, Any]:
    """The pulled metric and the local one on the same programs: the same numbers."""
    import evaluate

    import humanevalpack_metric
    from humanevalpack_metric import load_problems

    problems = load_problems("python", spec.get("humanevalpack_dir"))[:3]
    references = [problem["test"] for problem in problems]
    predictions = [[p["prompt"] + p["canonical_solution"], p["prompt"] + p["buggy_solution"]] for p in problems]
    options = dict(references=references, predictions=predictions, k=[1, 2], language="python")
    pulled, _ = evaluate.load(repo_id).compute(**options)
    local, _ = humanevalpack_metric.HumanEvalPack().compute(**options)
    return {"checks": {"scores_like_local": pulled == local}, "pulled_scores": pulled, "local_scores": local}


def main(spec_path: str) -> int:
    from huggingface_hub import HfApi

    from hub_cards import pull, pull_recipe, push_metric
    from hub_cards.cli.push import installed_metric

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    out = Path(spec["out"])
    api = HfApi()
    namespace = spec["namespace"] or api.whoami()["name"]
    from octo_trainer.pipeline.stages.publish import repo_names

    names = repo_names(spec["prefix"], namespace)
    repos: list[dict[str, Any]] = []
    skipped: list[str] = []
    pulled_root = out / "pulled"
    if pulled_root.exists():
        shutil.rmtree(pulled_root)

    def record(kind: str, repo_type: str, repo_id: str, **extra) -> dict[str, Any]:
        info = api.repo_info(repo_id, repo_type=repo_type)
        entry = {"kind": kind, "repo_id": repo_id, "repo_type": repo_type,
                 "url": _url(spec["endpoint"], repo_type, repo_id), "commit": info.sha,
                 "pulled": f"pulled/{kind}", **extra}
        repos.append(entry)
        return entry

    pushed = set()
    for item in spec["datasets"]:
        if not item.get("rows"):
            skipped.append(f"{item['kind']}: no rows to publish (see its drop statistics)")
            continue
        repo_id = names[item["kind"]]
        print(f"publish: {item['kind']} -> {repo_id}", flush=True)
        push_data(item, repo_id, spec, names, pushed)
        pushed.add(item["kind"])
        entry = record(item["kind"], "dataset", repo_id, rows=item["rows"])
        if spec["pull_back"]:
            target = pulled_root / item["kind"]
            pull(repo_id, repo_type="dataset", local_dir=target)
            entry["checks"] = check_data(item, repo_id, target)
    if spec.get("model"):
        repo_id = names["model"]
        print(f"publish: model -> {repo_id}", flush=True)
        push_model(spec, repo_id)
        entry = record("model", "model", repo_id)
        if spec["pull_back"]:
            target = pulled_root / "model"
            pull(repo_id, local_dir=target)
            entry["checks"] = check_model(spec, repo_id, target)
    print(f"publish: metric -> {names['metric']}", flush=True)
    module, card = installed_metric()
    push_metric(module, card, names["metric"], private=spec["private"] or None)
    entry = record("metric", "space", names["metric"])
    if spec["pull_back"]:
        pull(names["metric"], repo_type="space", local_dir=pulled_root / "metric")
        entry.update(check_metric(spec, names["metric"]))
    if spec.get("recipe"):
        print(f"publish: recipe -> {names['recipe']}", flush=True)
        path = push_recipe(spec, names["recipe"], names, pushed, out)
        entry = record("recipe", "model", names["recipe"], recipe_url=f"hf://{names['recipe']}/{path}")
        if spec["pull_back"]:
            pulled = pull_recipe(f"hf://{names['recipe']}/{path}")
            target = pulled_root / "recipe"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pulled.path, target / "sft.yaml")
            entry["checks"] = {"same_text": pulled.path.read_text() == (out / "recipes" / path).read_text()}
    octopack_common.write_json_atomic(out / "publish.json", {
        "endpoint": spec["endpoint"], "local": spec["local"], "namespace": namespace,
        "repos": repos, "skipped": skipped})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
