"""commitpack_dataset."""
