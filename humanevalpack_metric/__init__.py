"""humanevalpack_metric."""
