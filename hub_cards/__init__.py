"""Hub I/O and cards for octopack: recipe repositories, model cards, publishing.

Generic on purpose: it imports none of octopack's other packages and takes plain dicts and paths.

* Recipes on the Hub (:mod:`hub_cards.recipes`): :func:`push_recipes` uploads YAML recipes with a
  generated README; :func:`pull_recipe` downloads one by ``hf://owner/repo[@revision]/path.yaml``
  (huggingface_hub's URL form and parser), with errors that name what does exist.
* Model cards (:mod:`hub_cards.model_card`): :func:`render_model_card` renders the shipped template
  ``templates/model_card.md`` into a ``huggingface_hub.ModelCard``.
* Publishing (:mod:`hub_cards.publish`): :func:`push_folder` uploads a trained model folder with its
  card in one commit.
* Command line (:mod:`hub_cards.cli`): ``octopack-recipes push DIR REPO_ID`` / ``pull hf://...``.

Heavy imports (huggingface_hub, jinja2, yaml) happen inside the functions.
"""

from hub_cards.model_card import (
    MODEL_CARD_FIELDS,
    framework_versions,
    global_batch,
    hub_id_or_none,
    hub_license,
    render_model_card,
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

__all__ = [
    "MODEL_CARD_FIELDS",
    "PulledRecipe",
    "RecipeNotFoundError",
    "RecipeRef",
    "RecipeURLError",
    "framework_versions",
    "global_batch",
    "hub_id_or_none",
    "hub_license",
    "is_recipe_url",
    "parse_recipe_url",
    "pull_recipe",
    "push_folder",
    "push_recipes",
    "recipe_url",
    "render_model_card",
    "render_recipe_card",
]
