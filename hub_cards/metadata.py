"""The rules the Hub applies to the YAML metadata of a card, in one place.

Used twice: :mod:`hub_cards.dataset_card` / :mod:`hub_cards.model_card` check the cards they render
(:func:`validate_metadata` plus the fields each card type requires), and the dev hub's
``/api/validate-yaml`` refuses a README with invalid metadata at commit time, like the Hub does.

* ``license``: one identifier, or a list, from the Hub's license list (:data:`HUB_LICENSES`, from
  https://huggingface.co/docs/hub/repositories-licenses); ``other`` wants ``license_name``.
* ``size_categories`` (datasets): one of :data:`SIZE_CATEGORIES`; :func:`size_category` picks it.
* ``configs`` (datasets): a list of ``{config_name, data_files}`` with unique names; ``data_files``
  a path/glob, a list of them, or a list of ``{split, path}``.
* ``model-index`` (models): what ``huggingface_hub`` parses into ``EvalResult`` objects.
* ``sdk`` (Spaces): ``gradio``, ``streamlit``, ``docker`` or ``static``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

HUB_LICENSES = frozenset((
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd",
    "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0",
    "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0",
    "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0",
    "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "agpl-3.0",
    "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c", "ms-pl",
    "mpl-2.0", "odc-by", "odbl", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense",
    "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "llama2", "gemma", "unknown", "other",
))
SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M",
                   "100M<n<1B", "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T")
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class MetadataError(ValueError):
    """Card metadata the Hub would refuse; the message names the field and what is allowed."""


def card_body(text: str) -> str:
    """A README without its YAML block."""
    match = _FRONT_MATTER.match(text)
    return text[match.end():] if match else text


def read_front_matter(text: str) -> dict | None:
    """The YAML block at the top of a README as a mapping; ``None`` when there is none."""
    import yaml

    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise MetadataError(f"the YAML metadata does not parse: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError(f"the YAML metadata must be a mapping of fields, got {type(data).__name__}")
    return data


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for a dataset of ``rows`` rows."""
    bounds = (10**3, 10**4, 10**5, 10**6, 10**7, 10**8, 10**9, 10**10, 10**11, 10**12)
    for bound, category in zip(bounds, SIZE_CATEGORIES):
        if rows < bound:
            return category
    return SIZE_CATEGORIES[-1]


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def validate_metadata(metadata: Mapping[str, Any], repo_type: str = "model") -> None:
    """Raise :class:`MetadataError` for the first field the Hub would refuse (see module docstring)."""
    licenses = metadata.get("license")
    if licenses is not None:
        for value in _as_list(licenses):
            if not isinstance(value, str) or value not in HUB_LICENSES:
                raise MetadataError(
                    f"license {value!r} is not a Hub license identifier: use one of the Hub's list "
                    "(e.g. apache-2.0, mit, bsd-3-clause, cc-by-4.0, bigcode-openrail-m, unknown) or "
                    "'other' with license_name")
        if "other" in _as_list(licenses) and not metadata.get("license_name"):
            raise MetadataError("license 'other' needs license_name (and a LICENSE file or license_link)")
    for key in ("language", "tags", "task_categories", "source_datasets", "datasets"):
        value = metadata.get(key)
        if value is not None and not all(isinstance(item, str) and item for item in _as_list(value)):
            raise MetadataError(f"{key} must be a string or a list of non-empty strings, got {value!r}")
    if repo_type == "dataset":
        for value in _as_list(metadata.get("size_categories") or []):
            if value not in SIZE_CATEGORIES:
                raise MetadataError(f"size_categories {value!r} is not one of {', '.join(SIZE_CATEGORIES)}")
        _validate_configs(metadata.get("configs"))
    if repo_type == "model" and metadata.get("model-index") is not None:
        from huggingface_hub.repocard_data import model_index_to_eval_results

        try:
            model_index_to_eval_results(metadata["model-index"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MetadataError(
                f"model-index does not parse ({type(error).__name__}: {error}): each entry needs name and "
                "results; each result task.type, dataset.type, dataset.name and metrics of type and value"
            ) from None
    if repo_type == "space" and metadata.get("sdk") is not None and metadata["sdk"] not in SPACE_SDKS:
        raise MetadataError(f"sdk {metadata['sdk']!r} is not one of {', '.join(SPACE_SDKS)}")


def _validate_configs(configs: Any) -> None:
    if configs is None:
        return
    if not isinstance(configs, list):
        raise MetadataError("configs must be a list of {config_name, data_files} entries")
    seen = set()
    for entry in configs:
        if not isinstance(entry, dict) or not isinstance(entry.get("config_name"), str):
            raise MetadataError(f"every configs entry needs a config_name, got {entry!r}")
        name = entry["config_name"]
        if name in seen:
            raise MetadataError(f"config {name!r} is listed twice in configs")
        seen.add(name)
        files = entry.get("data_files")
        if files is None:
            continue  # a config may be defined by data_dir or builder options alone
        for item in _as_list(files):
            ok = isinstance(item, str) or (isinstance(item, dict) and isinstance(item.get("split"), str)
                                           and isinstance(item.get("path"), (str, list)))
            if not ok:
                raise MetadataError(f"config {name!r}: data_files entries are paths or {{split, path}}, got {item!r}")
