"""The run's report: ``<run_dir>/report.html`` with its PNGs in ``<run_dir>/report/`` (relative
links only, so the directory can be copied or served as it is).

Sections: the stages (status, time, headline); the data (rows kept and dropped per data set, a
chart of the drop reasons, the teacher's requests, tokens and cost); the data analysis plots; the
training loss curve; the HumanEvalPack results table (pass@1 per task x language, the runner's
chart) and the canonical-solution check; the published repositories with their URLs, commits,
pull-back checks and the pulled copies.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import octopack_common

from .stage import StageResult

REPORT = "report.html"
ASSETS = "report"
TASK_TITLES = {"fixtests": "HumanEvalFix", "fixdocs": "HumanEvalFixDocs", "explainsynthesize": "HumanEvalExplain",
               "synthesize": "HumanEvalSynthesize", "humaneval": "HumanEval", "mbpp": "MBPP"}
LANGUAGE_TITLES = {"python": "Python", "js": "JavaScript", "java": "Java", "go": "Go", "cpp": "C++",
                   "rust": "Rust"}
DATA_STAGES = (("mine", "CommitPack (mined commits)"), ("filter", "CommitPackFT"),
               ("oss_instruct", "OSS-Instruct"), ("evol_instruct", "Evol-Instruct"),
               ("mix", "OctoCoder mix"))
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:left;font-size:.9rem}th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#656d76;font-size:.85rem}
img{max-width:100%;border:1px solid #d0d7de;margin:.4rem 0}code{background:#f6f8fa;padding:.1rem .3rem;
border-radius:4px;font-size:.85rem}details{margin:.3rem 0}
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def _rel(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset(), cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            raw = cell if isinstance(cell, Raw) else esc("" if cell is None else cell)
            cells.append(f"<td class=\"num\">{raw}</td>" if index in numeric else f"<td>{raw}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class=\"{cls}\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw(str):
    """HTML that goes into a cell as it is."""


def _link(href: str | None, text: str) -> Raw:
    return Raw(f"<a href=\"{esc(href)}\">{esc(text)}</a>") if href else Raw(esc(text))


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def headline(result: StageResult) -> str:
    """A stage's result in one line (the closing summary and the stage table)."""
    s = result.summary
    if result.status == "skipped":
        return s.get("note", "disabled")
    if result.status == "failed":
        return result.error or "failed"
    if result.name in ("mine", "filter", "oss_instruct", "evol_instruct", "mix"):
        text = f"{s.get('rows', 0)} rows kept, {s.get('dropped', 0)} dropped"
        if s.get("requests") is not None:
            text += f"; {s['requests']} teacher requests ({s.get('cached') or 0} from the cache)"
        return text
    if result.name == "sft":
        loss = s.get("final_loss")
        return f"{s.get('steps')} steps on {s.get('rows')} rows, final loss {loss:.3f}" if loss is not None \
            else f"{s.get('steps')} steps"
    if result.name == "eval":
        averages = ", ".join(f"{TASK_TITLES.get(t, t)} {_percent(v)}" for t, v in (s.get("averages") or {}).items())
        canonical = s.get("canonical")
        check = "" if canonical is None else ("; canonical solutions all pass" if not canonical["failed"]
                                              else f"; canonical solutions FAIL in {', '.join(canonical['failed'])}")
        return f"pass@1 {averages}{check}"
    if result.name == "analysis":
        labels = ", ".join(f"{label} ({data['rows']})" for label, data in (s.get("datasets") or {}).items())
        return f"figures of {labels}" if labels else s.get("note", "")
    if result.name == "publish":
        return (f"{s.get('repos')} repositories on {s.get('endpoint')}, "
                f"{s.get('checks_passed')}/{s.get('checks')} pull-back checks pass")
    return ""


def write_report(ctx, order: list[str]) -> Path:
    """Render the report of ``ctx``'s run (see the module docstring); return its path."""
    root = ctx.dir
    assets = root / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    sections = [_stages_section(ctx, order), _data_section(ctx, assets), _analysis_section(ctx, assets),
                _training_section(ctx, assets), _evaluation_section(ctx, assets), _publish_section(ctx)]
    config = ctx.config
    teacher = config.teacher.base_url or f"{config.teacher.model} via transformers serve (started for the run)"
    hub = "a dev hub started for the run" if config.publish.endpoint == "local" else config.publish.endpoint
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>octopack run report</title><style>{STYLE}</style></head>
<body>
<h1>octopack run</h1>
<p class="muted">From git history to a fine-tuned, evaluated, carded, published model. Run directory
<code>{esc(root)}</code>; config <a href="pipeline.yaml">pipeline.yaml</a>, state
<a href="state.json">state.json</a>. Teacher: {esc(teacher)}. Hub: {esc(hub)}.</p>
{''.join(section for section in sections if section)}
<p class="muted">Run <code>octopack run</code> again with the same config to reuse every finished stage;
a changed key reruns only the stages downstream of it.</p>
</body></html>
"""
    target = root / REPORT
    octopack_common.write_text_atomic(target, page)
    return target


def _stages_section(ctx, order: list[str]) -> str:
    rows = []
    for name in order:
        result = ctx.results.get(name) or StageResult(name)
        status = Raw(f"<span class=\"{'bad' if result.status == 'failed' else 'ok'}\">{esc(result.status)}</span>")
        rows.append([name, status, f"{result.seconds:.1f}", headline(result),
                     _link(_rel(result.directory, ctx.dir), (result.fingerprint or "")[:12])])
    return "<h2>Stages</h2>" + _table(["stage", "status", "seconds", "result", "output"], rows, {2})


def _drops(directory: Path | None) -> dict[str, int]:
    path = directory / "drop_counts.json" if directory else None
    if path is None or not path.is_file():
        return {}
    return {k: int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).get("drop_counts", {}).items()}


def _data_section(ctx, assets: Path) -> str:
    from .plots import drop_chart

    rows, drops, teacher_rows = [], {}, []
    for name, title in DATA_STAGES:
        result = ctx.results.get(name)
        if result is None or result.status not in ("done", "reused"):
            continue
        s = result.summary
        per_config = ", ".join(f"{k}: {v}" for k, v in (s.get("rows_per_config") or {}).items())
        rows.append([title, s.get("rows", 0), s.get("dropped", 0), per_config,
                     _link(_rel(result.directory, ctx.dir) + "/data", "data")])
        drops[name] = _drops(result.directory)
        if s.get("requests") is not None:
            cost = s.get("cost")
            teacher_rows.append([title, s.get("teacher"), s.get("requests"), s.get("cached"), s.get("failed"),
                                 s.get("prompt_tokens"), s.get("completion_tokens"),
                                 "" if cost is None else f"${cost:.4f}"])
    if not rows:
        return ""
    parts = ["<h2>Data</h2>", _table(["data set", "rows kept", "rows dropped", "rows per config", "files"],
                                     rows, {1, 2})]
    chart = drop_chart(drops, assets / "drops.png")
    if chart is not None:
        parts.append(f"<p>Why rows were dropped, per stage (every rule's count is in its stage's "
                     f"<code>drop_counts.json</code>):</p><img src=\"{ASSETS}/drops.png\" alt=\"drop reasons\">")
    for name, counts in drops.items():
        if counts:
            table = _table(["reason", "rows"], sorted(counts.items(), key=lambda i: -i[1]), {1})
            parts.append(f"<details><summary>{esc(name)}: every drop reason</summary>{table}</details>")
    if teacher_rows:
        parts.append("<p>Teacher calls (answered requests are cached: a re-run pays for none of them):</p>")
        parts.append(_table(["data set", "teacher", "requests", "from cache", "failed", "prompt tokens",
                             "completion tokens", "cost"], teacher_rows, {2, 3, 4, 5, 6}))
    return "".join(parts)


def _analysis_section(ctx, assets: Path) -> str:
    directory = ctx.output("analysis")
    if directory is None:
        return ""
    datasets = ctx.summary("analysis").get("datasets") or {}
    rows = [[label, data["rows"], f"{data['instruction_tokens']:.0f}", f"{data['response_tokens']:.0f}",
             f"{data['humaneval_similarity']:.3f}"] for label, data in datasets.items()]
    parts = ["<h2>Data analysis</h2>", "<p>Magicoder's figures of every data set the run built (tokens: "
             "cl100k_base; similarity: the highest TF-IDF cosine to a HumanEval problem); "
             f"{_link(_rel(directory / 'summary.json', ctx.dir), 'summary.json')} has every number.</p>"]
    if rows:
        parts.append(_table(["data set", "rows", "instruction tokens (mean)", "response tokens (mean)",
                             "HumanEval similarity (mean)"], rows, {1, 2, 3, 4}))
    for image in sorted(directory.glob("*.png")):
        target = assets / f"analysis-{image.name}"
        shutil.copyfile(image, target)
        parts.append(f"<img src=\"{ASSETS}/{target.name}\" alt=\"{esc(image.stem)}\">")
    return "".join(parts) if rows else ""


def _training_section(ctx, assets: Path) -> str:
    from .plots import loss_curve
    from .stages.training import MODEL_DIR

    result = ctx.results.get("sft")
    directory = ctx.output("sft")
    if directory is None:
        return ""
    s = result.summary
    parts = ["<h2>Training</h2>", _table(["recipe", "base model", "steps", "rows", "first loss", "final loss"], [[
        s.get("recipe"), Path(str(s.get("base_model"))).name, s.get("steps"), s.get("rows"),
        None if s.get("first_loss") is None else f"{s['first_loss']:.4f}",
        None if s.get("final_loss") is None else f"{s['final_loss']:.4f}"]], {2, 3, 4, 5})]
    curve = loss_curve(directory / MODEL_DIR / "trainer_state.json", assets / "loss.png")
    if curve is not None:
        parts.append(f"<img src=\"{ASSETS}/loss.png\" alt=\"training loss\">")
    card = _rel(directory / MODEL_DIR / "README.md", ctx.dir)
    parts.append(f"<p>Model, adapter and card: {_link(card, 'model/README.md')}</p>")
    return "".join(parts)


def _evaluation_section(ctx, assets: Path) -> str:
    from .stages.training import CANONICAL, EVAL_DIR, read_results

    document = read_results(ctx)
    if document is None:
        return ""
    directory = ctx.output("eval")
    languages = [lang for lang in LANGUAGE_TITLES if any(e["language"] == lang for e in document["results"])]
    tasks = [task for task in TASK_TITLES if any(e["task"] == task for e in document["results"])]
    values = {(e["task"], e["language"]): e for e in document["results"]}
    rows = []
    for task in tasks:
        row = [TASK_TITLES[task]]
        for language in languages:
            entry = values.get((task, language))
            row.append(None if entry is None else _percent(entry["metrics"].get("pass@1")))
        average = (document.get("averages") or {}).get(task, {}).get("pass@1")
        row.append(_percent(average))
        rows.append(row)
    problems = sorted({e["problems"] for e in document["results"]})
    parts = ["<h2>Evaluation: HumanEvalPack</h2>",
             f"<p>pass@1 (%) of <code>{esc(document['model']['label'])}</code>, "
             f"{'greedy' if document['generation']['greedy'] else 'sampled'}, {', '.join(map(str, problems))} "
             f"problem(s) per task and language (a partial run: the paper's numbers use all 164).</p>",
             _table(["task", *[LANGUAGE_TITLES[lang] for lang in languages], "average"], rows,
                    set(range(1, len(languages) + 2)), cls="results")]
    chart = directory / EVAL_DIR / "chart.png"
    if chart.is_file():
        shutil.copyfile(chart, assets / "humanevalpack.png")
        parts.append(f"<img src=\"{ASSETS}/humanevalpack.png\" alt=\"HumanEvalPack chart\">")
    links = [_link(_rel(directory / EVAL_DIR / name, ctx.dir), name)
             for name in ("results.json", "table.md", "generations.jsonl", "scores.jsonl")]
    parts.append("<p>Files: " + ", ".join(links) + "</p>")
    canonical_path = directory / CANONICAL
    if canonical_path.is_file():
        canonical = json.loads(canonical_path.read_text(encoding="utf-8"))
        rows = [[LANGUAGE_TITLES.get(lang, lang), score["problems"], _percent(score["pass@1"]),
                 ", ".join(f"{k}: {v}" for k, v in sorted(score["status"].items()))]
                for lang, score in canonical["languages"].items()]
        verdict = ("<span class=\"ok\">all canonical solutions pass</span>" if not canonical["failed"] else
                   f"<span class=\"bad\">canonical solutions fail in {esc(', '.join(canonical['failed']))}: "
                   "the executor is broken here (humanevalpack-toolchains check)</span>")
        parts.append(f"<h3>Executor check: the canonical solutions</h3><p>{verdict}</p>")
        parts.append(_table(["language", "problems", "pass@1", "verdicts"], rows, {1, 2}))
    return "".join(parts)


def _publish_section(ctx) -> str:
    from .stages.publish import read_publish

    published = read_publish(ctx)
    if published is None:
        return ""
    directory = ctx.output("publish")
    rows = []
    for repo in published["repos"]:
        checks = repo.get("checks") or {}
        marks = Raw(", ".join(f"<span class=\"{'ok' if ok else 'bad'}\">{'✓' if ok else '✗'} {esc(name)}</span>"
                              for name, ok in checks.items()))
        pulled = directory / repo["pulled"]
        target = next((pulled / name for name in ("README.md", "sft.yaml") if (pulled / name).is_file()), pulled)
        rows.append([repo["kind"], _link(repo["url"], repo["repo_id"]), repo["commit"][:10], marks,
                     _link(_rel(target, ctx.dir) if pulled.exists() else None, "pulled copy")])
    where = published["endpoint"]
    note = (f"<p class=\"muted\">The dev hub ran at {esc(where)} for the run; browse it again with "
            f"<code>octopack hub serve --root {esc(ctx.dir / 'hub')} --port {esc(where.rsplit(':', 1)[-1])}</code>."
            "</p>" if published.get("local") else "")
    skipped = "".join(f"<li>{esc(item)}</li>" for item in published.get("skipped", []))
    return ("<h2>Published</h2>" + _table(["kind", "repository", "commit", "pull-back checks", "local copy"], rows)
            + (f"<p>Not published:</p><ul>{skipped}</ul>" if skipped else "") + note)
