"""hub_cards."""
