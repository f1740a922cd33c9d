"""Hub I/O and cards for octopack: every push to and pull from the Hub, and the cards that go with it.

Generic on purpose: it imports none of octopack's other packages and takes plain dicts and paths.

* One write path (:mod:`hub_cards.commit`): every push is a :class:`CommitPlan` made one commit by
  :func:`push_plan` (metadata and secret checks, private repos, branches, replaced folders, no
  half-pushed repository); :func:`pull` downloads a snapshot (offline from the cache once pulled).
* Datasets (:mod:`hub_cards.dataset_push`, :mod:`hub_cards.dataset_card`): :func:`push_dataset`
  pushes Parquet per config; :func:`render_dataset_card` renders a card from
  :class:`DatasetCardFacts` for CommitPack, CommitPackFT, OSS-Instruct, Evol-Instruct, the mix.
* The metric as a Space (:mod:`hub_cards.metric_space`): :func:`push_metric`, so that
  ``evaluate.load("ns/name")`` runs it.
* Models (:mod:`hub_cards.model_card`, :mod:`hub_cards.results`, :mod:`hub_cards.publish`):
  :func:`render_model_card` (with HumanEvalPack results as ``model-index`` and a Table-2 section),
  :func:`update_model_card` (new results, no retraining), :func:`push_folder`.
* Recipes (:mod:`hub_cards.recipes`, :mod:`hub_cards.recipe_push`): :func:`push_recipes`,
  :func:`pull_recipe` by ``hf://owner/repo[@revision]/path.yaml``.
* The dev hub (:mod:`hub_cards.dev_hub`): a local Hub-API server (``octopack hub serve``).
* Command line (:mod:`hub_cards.cli`): ``octopack hub push|pull dataset|metric|model|recipes ...``.

Heavy imports (huggingface_hub, datasets, jinja2, yaml) happen inside the functions.
"""

from hub_cards.commit import CommitPlan, HubNotFoundError, HubPushError, PulledRepo, pull, push_plan
from hub_cards.dataset_card import DatasetCardFacts, DatasetCardFactsError, render_dataset_card, validate_dataset_card
from hub_cards.dataset_push import push_dataset
from hub_cards.metadata import MetadataError
from hub_cards.metric_space import push_metric
from hub_cards.model_card import (
    MODEL_CARD_FIELDS,
    card_results,
    framework_versions,
    global_batch,
    hub_id_or_none,
    hub_license,
    render_model_card,
    update_model_card,
)
from hub_cards.publish import push_folder
from hub_cards.recipe_push import push_recipes, render_recipe_card
from hub_cards.recipes import (
    PulledRecipe,
    RecipeNotFoundError,
    RecipeRef,
    RecipeURLError,
    is_recipe_url,
    parse_recipe_url,
    pull_recipe,
    recipe_url,
)
from hub_cards.results import EvaluationResults, ResultsError, parse_results

__all__ = [
    "MODEL_CARD_FIELDS", "CommitPlan", "DatasetCardFacts", "DatasetCardFactsError", "EvaluationResults",
    "HubNotFoundError", "HubPushError", "MetadataError", "PulledRecipe", "PulledRepo", "RecipeNotFoundError",
    "RecipeRef", "RecipeURLError", "ResultsError", "card_results", "framework_versions", "global_batch",
    "hub_id_or_none", "hub_license", "is_recipe_url", "parse_recipe_url", "parse_results", "pull", "pull_recipe",
    "push_dataset", "push_folder", "push_metric", "push_plan", "push_recipes", "recipe_url", "render_dataset_card",
    "render_model_card", "render_recipe_card", "update_model_card", "validate_dataset_card",
]
