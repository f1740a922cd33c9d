"""Every card type rendered as a Hub user sees it (``hub_cards.preview``) and screenshotted in headless
Chromium: the page renders its metadata chips, tables and code, and the screenshot is not blank."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import octo_trainer
from hub_cards import render_dataset_card, render_model_card, render_recipe_card
from hub_cards.cli.push import installed_metric
from hub_cards.metric_space import space_card
from hub_cards.preview import card_html
from tests.hub_cards.card_examples import FACTS, MODEL_INFO, RESULTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1200, 1600


def all_cards() -> dict[str, tuple[str, str, str]]:
    """``name -> (card text, repo id, repo type)`` for one card of every type the suite publishes."""
    cards = {kind: (str(render_dataset_card(facts)), facts["repo_id"], "dataset") for kind, facts in FACTS.items()}
    cards["model"] = (str(render_model_card({**MODEL_INFO, "evaluation": RESULTS})), MODEL_INFO["model_id"], "model")
    _, metric_card = installed_metric()
    cards["metric-space"] = (space_card(metric_card.read_text(encoding="utf-8"), "octo-user/humanevalpack",
                                        ["octopack==0.1.0"]),
                             "octo-user/humanevalpack", "space")
    recipes = Path(octo_trainer.__file__).parent / "recipes" / "tiny-cpu"
    pairs = [(f"tiny-cpu/{p.name}", p.read_text()) for p in sorted(recipes.glob("*.yaml"))]
    cards["recipes"] = (str(render_recipe_card("octo-user/recipes", pairs)), "octo-user/recipes", "model")
    return cards


def screenshot(page: Path, png: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()],
        capture_output=True, text=True, timeout=120)


def test_every_card_renders_and_screenshots_in_headless_chromium(tmp_path):
    from matplotlib import image

    if not Path(CHROMIUM).is_file():
        pytest.fail("chromium is not installed: `make setup` installs it (Debian package chromium, "
                    "scripts/); it renders the cards for this test", pytrace=False)
    pages = {}
    for name, (text, repo_id, repo_type) in all_cards().items():
        page = card_html(text, repo_id=repo_id, repo_type=repo_type)
        assert "<table>" in page and "<pre><code" in page and 'class="chip"' in page, name
        assert "octopack:evaluation" not in page, name  # HTML comments are not shown, as on the Hub
        assert "---\n" not in page.split("<article>", 1)[1][:200], name  # the YAML is not shown as text
        pages[name] = tmp_path / f"{name}.html"
        pages[name].write_text(page, encoding="utf-8")
    assert "Evaluation results" in pages["model"].read_text() and "HumanEvalFix Python" in pages["model"].read_text()

    def shoot(name: str):
        return name, screenshot(pages[name], tmp_path / f"{name}.png", tmp_path / f"profile-{name}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(shoot, pages))
    for name, result in results.items():
        png = tmp_path / f"{name}.png"
        assert png.is_file(), f"{name}: chromium wrote no screenshot: {result.stderr[-2000:]}"
        pixels = image.imread(str(png))
        assert pixels.shape[:2] == (HEIGHT, WIDTH), name
        ink = (pixels[..., :3].mean(axis=2) < 0.5).mean()
        assert ink > 0.01, f"{name}: the screenshot is blank ({ink:.2%} dark pixels)"
    print(f"card screenshots in {tmp_path}")
