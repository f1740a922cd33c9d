"""`pip install .` gives the four packages with their data files (built as a real wheel)."""

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("commitpack_dataset", "humanevalpack_metric", "octo_trainer", "hub_cards")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    # builds start from a clean copy: a stale build/ or *.egg-info in the work tree would
    # otherwise slip files into the wheel that setup.cfg no longer ships
    source = tmp_path_factory.mktemp("source") / "octopack"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".cache", "outputs",
        "humanevalpack_results"))
    return source


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, source) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(source)], check=True, cwd=out)
    (built,) = out.glob("octopack-*.whl")
    return built


def test_wheel_holds_the_packages_and_their_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "commitpack_dataset/data/programming_languages.json" in names
    assert "humanevalpack_metric/README.md" in names  # the metric card
    assert "humanevalpack_metric/humanevalpack_metric.py" in names  # evaluate.load target
    assert "humanevalpack_metric/assets/java/CompileServer.java" in names
    assert "humanevalpack_metric/assets/rust/rand04/Cargo.toml" in names
    assert "commitpack_dataset/data/imperative_verbs.txt" in names
    assert "octo_trainer/recipes/magicoder/qlora.yaml" in names
    assert "octo_trainer/recipes/accelerate/configs/fsdp.yaml" in names  # accelerate launch configs
    assert "octo_trainer/recipes/accelerate/README.md" in names
    assert "octo_trainer/pipelines/default.yaml" in names  # octopack run's example configs
    assert "hub_cards/templates/model_card.md" in names  # the model card template
    assert "hub_cards/templates/recipe_card.md" in names  # the recipe repository README template
    assert not any(name.startswith("tests/") for name in names)
    # the license: its full text in the wheel, and named in the metadata
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert zipfile.ZipFile(wheel).read(license_file).decode() == (REPO / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0" in (REPO / "LICENSE").read_text()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License: Apache-2.0" in metadata.splitlines() or "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata.splitlines()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "humanevalpack-eval" in text and "humanevalpack-toolchains" in text
    assert "octopack = octo_trainer.cli:main" in text  # one command; the older names are aliases
    assert "octopack-recipes = octo_trainer.cli:recipes_alias" in text and "octopack-sft = octo_trainer.cli:sft_alias" in text


def test_sdist_holds_the_license(source, tmp_path):
    out = tmp_path / "sdist"
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                    "build_meta.build_sdist(sys.argv[1])", str(out)], check=True, cwd=source,
                   capture_output=True)
    (built,) = out.glob("octopack-*.tar.gz")
    with tarfile.open(built) as sdist:
        text = sdist.extractfile(f"{built.name[:-len('.tar.gz')]}/LICENSE").read().decode()
    assert text == (REPO / "LICENSE").read_text()


def test_installed_wheel_imports_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "import json, pathlib, humanevalpack_metric, commitpack_dataset, octo_trainer, hub_cards\n"
        "root = pathlib.Path(humanevalpack_metric.__file__).parent\n"
        "assert str(root).startswith(%r), root\n"
        "assert (root / 'README.md').is_file()\n"
        "langs = json.loads((pathlib.Path(commitpack_dataset.__file__).parent / 'data' / "
        "'programming_languages.json').read_text())\n"
        "assert len(langs) == 358\n"
        "import hub_cards\n"
        "card = hub_cards.render_model_card({'model_id': 'o/m', 'finetuning': 'lora', "
        "'batch': {'per_device': 1, 'gradient_accumulation': 2, 'devices': 3}})\n"
        "assert str(pathlib.Path(hub_cards.__file__)).startswith(%r)\n"
        "assert card.data.library_name == 'peft' and '**Global batch:** 6' in card.text, card.text\n"
        "print('ok')\n" % (str(target), str(target))
    )
    # PYTHONPATH comes before site-packages, so the wheel's copy wins over the editable install
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
