"""``python -m hub_cards.cli``: the ``octopack hub`` command."""

from hub_cards.cli import hub_main

raise SystemExit(hub_main())
