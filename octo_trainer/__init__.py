"""octo_trainer."""
