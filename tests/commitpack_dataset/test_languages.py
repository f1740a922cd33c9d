"""Tests for the A.3 / A.4 language rules."""

import pytest

from commitpack_dataset.languages import (
    LanguageMap,
    all_config_names,
    config_name,
    language_extensions,
    language_of,
)


def test_map_size_matches_reference():
    extensions = language_extensions()
    assert len(extensions) == 358
    assert sum(len(v) for v in extensions.values()) == 853


@pytest.mark.parametrize(
    "path, expected",
    [
        ("src/main.py", "Python"),
        ("a/b/README.md", "Markdown"),
        ("notes.txt", "Text"),
        ("ci.yml", "YAML"),
        ("ci.yaml", "YAML"),
        ("x.json", "JSON"),
        ("lib/foo.C", "C++"),
        ("lib/foo.H", "C++"),
        ("lib/foo.h", "C"),
        ("lib/foo.c", "C"),
        ("stats.r", "R"),
        ("stats.R", None),
        ("foo.m", None),
        ("foo.v", None),
        ("foo.in", None),
        ("docker/Dockerfile", "Dockerfile"),
        ("Makefile", "Makefile"),
        ("makefile", None),
        ("no_extension", None),
        ("Dockerfile.dev", None),
    ],
)
def test_language_of(path, expected):
    assert language_of(path) == expected


def test_multi_dot_suffix_wins_over_last_extension():
    # ".cmake.in" is CMake while ".in" alone is absent; ".rst.txt" beats ".txt" (Text).
    assert language_of("config.cmake.in") == "CMake"
    assert language_of("docs/index.rst.txt") == "reStructuredText"
    assert language_of("docs/index.txt") == "Text"


def test_longest_first_with_custom_map():
    lang_map = LanguageMap({"Short": [".b"], "Long": [".a.b"], "Bare": ["Build"]})
    assert lang_map.language_of("x.a.b") == "Long"
    assert lang_map.language_of("x.c.b") == "Short"
    assert lang_map.language_of("dir/Build") == "Bare"
    assert lang_map.language_of("Build.b") == "Short"


def test_dotfile_suffix():
    lang_map = LanguageMap({"Shell": [".bashrc"]})
    assert lang_map.language_of("home/.bashrc") == "Shell"


@pytest.mark.parametrize(
    "display, expected",
    [
        ("C++", "c++"),
        ("Common Lisp", "common-lisp"),
        ("Cap'n Proto", "capn-proto"),
        ("Graphviz (DOT)", "graphviz-dot"),
        ("Ren'Py", "renpy"),
        ("C#", "c#"),
        ("Python", "python"),
    ],
)
def test_config_name(display, expected):
    assert config_name(display) == expected


def test_config_names_are_unique():
    names = all_config_names()
    assert len(names) == 358
    assert names["python"] == "Python"
