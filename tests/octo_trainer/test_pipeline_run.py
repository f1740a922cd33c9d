"""``octopack run`` end to end on a smaller default: a real git repository made here, the tiny model
served by ``transformers serve`` as the teacher (started by the pipeline), LoRA training, the
evaluation runner, the dev hub started by the pipeline, and the report in headless Chromium.

One run (a module fixture, in a subprocess as a user runs it, offline) feeds the tests: every
artifact exists and the artifacts agree with each other (the cards reference the pushed data, the
model card's results are the run's results.json, the pulled metric scores like the local one),
the report renders its tables and plots, and a re-run reuses every stage while a changed key
reruns only what is downstream of it (``test_pipeline_sigkill.py``
resumes a killed stage).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.commitpack_dataset.gitrepo import GitRepo, build_two_language_history

OCTOPACK = Path(sys.executable).with_name("octopack")
CHROMIUM = "/usr/bin/chromium"
STAGES = ["mine", "filter", "oss_instruct", "evol_instruct", "mix", "analysis", "sft", "eval", "publish"]
PUSHED = {"commitpack": "dataset", "commitpackft": "dataset", "evol-instruct": "dataset",
          "octocoder-mix": "dataset", "model": "model", "metric": "space", "recipe": "model"}


def small_config(run_dir: Path, repo: Path, test_data_dir: Path) -> dict:
    return {
        "run_dir": str(run_dir), "data": {"local_dir": str(test_data_dir)},
        "mine": {"own_history": False, "repositories": [str(repo)]},
        "teacher": {"concurrency": 2},
        "oss_instruct": {"max_new_data": 2, "max_new_tokens": 16},
        "evol_instruct": {"max_seeds": 2, "max_new_tokens": 16},
        "mix": {"commits": 50, "oasst_rows": 12},
        "analysis": {"options": {"max_rows": 20}},
        "sft": {"overrides": {"max_steps": 3, "max_length": 128}},
        "eval": {"languages": ["python", "js"], "limit": 1, "max_new_tokens": 16},
        "publish": {"prefix": "e2e"},
    }


def pipeline_env() -> dict[str, str]:
    """This environment without Hub redirections, offline (nothing is downloaded), opted in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HUB_OFFLINE="1", HF_ALLOW_CODE_EVAL="1", PYTHONUNBUFFERED="1")
    return env


def run_octopack(config: Path, *args: str, log: Path, timeout: float = 1500) -> subprocess.CompletedProcess:
    with open(log, "w") as handle:
        result = subprocess.run([str(OCTOPACK), "run", str(config), "--no-progress", *args], stdout=handle,
                                stderr=subprocess.STDOUT, env=pipeline_env(), timeout=timeout)
    assert result.returncode == 0, log.read_text()[-6000:]
    return result


def states(run_dir: Path) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads((run_dir / "state.json").read_text())["stages"]}


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, test_data_dir):
    root = tmp_path_factory.mktemp("pipeline")
    repo = GitRepo(root / "acme" / "tool")
    build_two_language_history(repo)
    config = root / "pipeline.yaml"
    config.write_text(yaml.safe_dump(small_config(root / "run", repo.path, test_data_dir)))
    run_octopack(config, log=root / "first.log")
    return root / "run", config


def test_the_pipeline_leaves_every_artifact_and_they_agree(pipeline_run, test_data_dir):
    from huggingface_hub import DatasetCard, ModelCard

    from hub_cards import card_results, parse_results

    run, _ = pipeline_run
    stages = states(run)
    assert [stages[name]["status"] for name in STAGES] == ["done"] * len(STAGES)
    out = {name: run / stages[name]["directory"] for name in STAGES}
    for name in ("mine", "filter", "oss_instruct", "evol_instruct", "mix"):
        assert (out[name] / "drop_counts.json").is_file(), name
    assert stages["filter"]["summary"]["rows"] == 4  # the repository's CommitPackFT commits
    assert stages["mix"]["summary"]["components"] == {"commitpackft": 4, "oasst": 12}
    assert {"categories.png", "lengths.png", "humaneval_similarity.png", "summary.json"} <= \
        {p.name for p in out["analysis"].iterdir()}
    model = out["sft"] / "model"
    assert {"adapter_config.json", "trainer_state.json", "recipe.yaml", "README.md"} <= {p.name for p in model.iterdir()}
    results_file = out["eval"] / "run" / "results.json"
    for name in ("results.json", "table.md", "chart.png", "generations.jsonl", "scores.jsonl"):
        assert (out["eval"] / "run" / name).is_file(), name
    canonical = json.loads((out["eval"] / "canonical.json").read_text())
    assert canonical["failed"] == [] and set(canonical["languages"]) == {"python", "js"}
    results = json.loads(results_file.read_text())
    assert {(e["task"], e["language"]) for e in results["results"]} == {
        (t, lang) for t in ("fixtests", "explainsynthesize", "synthesize") for lang in ("python", "js")}

    published = json.loads((out["publish"] / "publish.json").read_text())
    repos = {repo["kind"]: repo for repo in published["repos"]}
    assert {kind: repo["repo_type"] for kind, repo in repos.items()} == PUSHED
    assert published["skipped"] == ["oss-instruct: no rows to publish (see its drop statistics)"]
    for kind, repo in repos.items():
        assert repo["checks"] and all(repo["checks"].values()), (kind, repo["checks"])
        assert repo["url"].startswith(published["endpoint"]) and len(repo["commit"]) == 40
    pulled = out["publish"] / "pulled"
    # the cards reference the pushed data: the load line names the repository, every config's files are there
    for kind in ("commitpack", "commitpackft", "evol-instruct", "octocoder-mix"):
        card = DatasetCard.load(pulled / kind / "README.md")
        repo_id = repos[kind]["repo_id"]
        assert f'load_dataset("{repo_id}"' in card.text, kind
        for config in card.data.to_dict()["configs"]:
            for files in config["data_files"]:
                assert list((pulled / kind).glob(files["path"])), (kind, files)
    mix_card = (pulled / "octocoder-mix" / "README.md").read_text()
    assert repos["commitpackft"]["repo_id"] in mix_card  # the mix's component is the pushed CommitPackFT
    # the model card's results are the run's results.json
    ours, theirs = parse_results(results_file), card_results(ModelCard.load(pulled / "model" / "README.md"))
    assert ours.tasks and ours.tasks == theirs.tasks and ours.languages == theirs.languages
    assert all(ours.value(t, lang, k) == theirs.value(t, lang, k)
               for t in ours.tasks for lang in ours.languages for k in ours.ks)
    # the recipe on the Hub trains on the pushed data sets
    recipe = yaml.safe_load((pulled / "recipe" / "sft.yaml").read_text())
    assert {source["path"] for source in recipe["datasets"]} == {
        repos["octocoder-mix"]["repo_id"], repos["evol-instruct"]["repo_id"]}
    # the pulled metric scores like the local one (checked here again, from the pulled copy)
    assert repos["metric"]["pulled_scores"] == repos["metric"]["local_scores"]
    check_pulled_metric(pulled / "metric", test_data_dir)


def check_pulled_metric(folder: Path, test_data_dir: Path) -> None:
    """The Space's module, loaded from the pulled files, computes the installed metric's numbers."""
    import evaluate

    import humanevalpack_metric
    from humanevalpack_metric import load_problems

    (module,) = [p for p in folder.glob("*.py") if p.name != "app.py"]
    problems = load_problems("js", str(test_data_dir / "humanevalpack"))[:2]
    options = dict(references=[p["test"] for p in problems], k=[1, 2], language="js",
                   predictions=[[p["prompt"] + p["canonical_solution"], p["prompt"] + p["buggy_solution"]]
                                for p in problems])
    pulled, _ = evaluate.load(str(module)).compute(**options)
    local, _ = humanevalpack_metric.HumanEvalPack().compute(**options)
    assert pulled == local == {"pass@1": 0.5, "pass@2": 1.0}


def test_the_report_renders_its_tables_and_plots_in_headless_chromium(pipeline_run, tmp_path):
    from matplotlib import image

    if not Path(CHROMIUM).is_file():
        pytest.fail("chromium is not installed: `make setup-test` installs it (Debian package chromium)",
                    pytrace=False)
    run, _ = pipeline_run
    report = run / "report.html"
    # a copy beside it (same relative links) that records, once loaded, what rendered
    probe = run / "report-probe.html"
    probe.write_text(report.read_text().replace("</body>", """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src).join(" ");
  document.body.dataset.tables = document.querySelectorAll("table").length;
});
</script></body>"""))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=10000"]
    dom = subprocess.run([CHROMIUM, *flags, f"--user-data-dir={tmp_path / 'dom'}", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=180)
    from html.parser import HTMLParser

    class Body(HTMLParser):
        attributes: dict = {}
        results_cells: list = []
        in_results = False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "body":
                Body.attributes = attrs
            if tag == "table" and attrs.get("class") == "results":
                Body.in_results = True

        def handle_endtag(self, tag):
            if tag == "table":
                Body.in_results = False

        def handle_data(self, data):
            if Body.in_results and data.strip():
                Body.results_cells.append(data.strip())

    Body().feed(dom.stdout)
    assert Body.attributes.get("data-broken") == "", dom.stdout[-3000:]
    assert int(Body.attributes["data-images"]) >= 6  # drops, analysis x 3, loss, the HumanEvalPack chart
    assert int(Body.attributes["data-tables"]) >= 7
    assert {"HumanEvalFix", "HumanEvalExplain", "HumanEvalSynthesize", "Python", "JavaScript"} <= set(Body.results_cells)
    png = tmp_path / "report.png"
    shot = subprocess.run([CHROMIUM, *flags, f"--user-data-dir={tmp_path / 'shot'}", f"--screenshot={png}",
                           "--window-size=1280,2400", report.as_uri()], capture_output=True, text=True, timeout=180)
    assert png.is_file(), shot.stderr[-2000:]
    pixels = image.imread(str(png))
    assert pixels.shape[:2] == (2400, 1280)
    ink = (pixels[..., :3].mean(axis=2) < 0.5).mean()
    colour = (pixels[..., :3].std(axis=2) > 0.1).mean()  # the charts' bars and lines
    assert ink > 0.01 and colour > 0.005, f"the screenshot looks blank ({ink:.2%} dark, {colour:.2%} coloured)"
    print(f"report screenshot: {png}")


def test_a_rerun_reuses_every_stage_upstream_of_a_changed_key(pipeline_run):
    """Changed keys rerun only their stage and what is downstream of it."""
    run, config = pipeline_run
    before = states(run)
    run_octopack(config, "--set", "eval.max_new_tokens=8", "--until", "eval", log=run.parent / "rerun.log")
    again = states(run)
    assert [again[name]["status"] for name in STAGES[:-1]] == ["reused"] * 7 + ["done"]
    assert {n: again[n]["fingerprint"] for n in STAGES[:-2]} == {n: before[n]["fingerprint"] for n in STAGES[:-2]}
    assert again["eval"]["fingerprint"] != before["eval"]["fingerprint"]
    assert (run / before["eval"]["directory"] / "complete.json").is_file()  # the old result is kept
    assert "transformers serve" not in (run.parent / "rerun.log").read_text()  # no teacher was needed
    # a key upstream (the mix) reruns that stage and what reads it, nothing before it
    run_octopack(config, "--set", "mix.oasst_rows=10", "--until", "analysis", log=run.parent / "mix.log")
    mixed = states(run)
    assert [mixed[name]["status"] for name in STAGES[:6]] == ["reused"] * 4 + ["done"] * 2
    assert {n: mixed[n]["fingerprint"] for n in STAGES[:4]} == {n: before[n]["fingerprint"] for n in STAGES[:4]}
    assert all(mixed[n]["fingerprint"] != before[n]["fingerprint"] for n in ("mix", "analysis"))
    assert mixed["mix"]["summary"]["components"]["oasst"] == 10, mixed["mix"]["summary"]
