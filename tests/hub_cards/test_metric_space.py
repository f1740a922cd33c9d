"""The HumanEvalPack metric pushed as a Space: ``evaluate.load("ns/name")`` pulls it from the dev hub
and scores like the local metric, keeps the code-execution opt-in, runs its app, and loads offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from hub_cards.cli import hub_main
from hub_cards.cli.push import installed_metric
from hub_cards.metric_space import MetricSpaceError, metric_space_files

LOAD_AND_SCORE = textwrap.dedent("""
    import json, os, sys
    import evaluate
    repo, local, app = sys.argv[1:4]
    references = ["assert add(2, 3) == 5", "assert neg(4) == -4", "assert twice('ab') == 'abab'"]
    predictions = [["def add(a, b): return a * b", "def add(a, b): return a + b", "def add(a, b): return b + a"],
                   ["def neg(x): return -x", "def neg(x): return x", "def neg(x): return 0 - x"],
                   ["def twice(s): return s", "def twice(s): return s * 3", "def twice(s): return s + s"]]
    score = lambda metric: metric.compute(references=references, predictions=predictions, k=[1, 2, 3])[0]
    os.environ.pop("HF_ALLOW_CODE_EVAL", None)
    pulled = evaluate.load(repo)
    try:
        score(pulled)
        refused = None
    except Exception as error:
        refused = type(error).__name__
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    out = {"refused": refused, "pulled": score(pulled), "module": type(pulled).__module__}
    if local != "-":
        out["local"] = score(evaluate.load(local))
    if app != "-":
        import evaluate.utils
        shown = []
        evaluate.utils.launch_gradio_widget = lambda module: shown.append(type(module).__module__)
        exec(compile(open(app).read(), app, "exec"), {"__name__": "__main__"})
        out["app"] = shown
    print(json.dumps(out))
""")


def run_script(*args: str, env: dict | None = None) -> dict:
    result = subprocess.run([sys.executable, "-c", LOAD_AND_SCORE, *args], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_metric_space_loads_with_evaluate_and_scores_like_the_local_metric(local_hub, tmp_path, capsys):
    from huggingface_hub import snapshot_download

    module, card = installed_metric()
    repo_id = local_hub.repo_id("humanevalpack")
    assert hub_main(["push", "metric", repo_id, "--dry-run"]) == 0
    preview = capsys.readouterr().out
    for name in ("humanevalpack.py", "README.md", "requirements.txt", "app.py"):
        assert f"+ {name}" in preview
    assert "sdk: gradio" in preview and not local_hub.api.repo_exists(repo_id, repo_type="space")

    assert hub_main(["push", "metric", repo_id]) == 0
    assert f'evaluate.load("{repo_id}")' in capsys.readouterr().out
    assert hub_main(["pull", "metric", repo_id]) == 0
    pulled = capsys.readouterr().out.splitlines()
    assert pulled[-1] == f'HF_ALLOW_CODE_EVAL=1; import evaluate; evaluate.load("{repo_id}")'
    space = snapshot_download(repo_id, repo_type="space")
    assert pulled[0] == space
    assert open(os.path.join(space, "humanevalpack.py"), "rb").read() == module.read_bytes()  # opt-in included
    requirements = open(os.path.join(space, "requirements.txt")).read()
    assert requirements.startswith("octopack==")
    assert local_hub.api.space_info(repo_id).sdk == "gradio"

    out = run_script(repo_id, str(module.parent), os.path.join(space, "app.py"))
    assert out["refused"] == "CodeEvalNotAllowed"  # the pulled metric still asks for HF_ALLOW_CODE_EVAL=1
    assert out["pulled"] == out["local"] == {"pass@1": pytest.approx(5 / 9), "pass@2": pytest.approx(8 / 9),
                                             "pass@3": 1.0}
    assert "octo-user--humanevalpack" in out["module"]  # evaluate's module for the Space, not the local one
    assert out["app"] == [out["module"]]  # app.py loads this Space and hands it to the widget

    dead = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}  # nobody listens there
    offline = run_script(repo_id, "-", "-", env=dead)
    assert offline["pulled"] == out["pulled"] and offline["module"] == out["module"]


def test_a_module_that_cannot_be_a_metric_space_is_refused(tmp_path):
    module, card = installed_metric()
    with pytest.raises(MetricSpaceError, match="namespace/name"):
        metric_space_files(module, card, "humanevalpack")
    plain = tmp_path / "plain.py"
    plain.write_text("def f():\n    return 1\n")
    with pytest.raises(MetricSpaceError, match="defines no evaluate.Metric subclass"):
        metric_space_files(plain, card, "o/plain")
    helper = tmp_path / "uses_helper.py"
    helper.write_text("import evaluate\nfrom .helpers import f\n\nclass M(evaluate.Metric):\n    pass\n")
    with pytest.raises(MetricSpaceError, match="imports helpers.py relatively"):
        metric_space_files(helper, card, "o/uses_helper", requirements=["x"])
    (tmp_path / "helpers.py").write_text("def f():\n    return 1\n")
    files = metric_space_files(helper, card, "o/uses_helper", requirements=["x==1"])
    assert sorted(files) == ["README.md", "app.py", "helpers.py", "requirements.txt", "uses_helper.py"]
    assert files["requirements.txt"] == b"x==1\n"
