"""Read-model projections of the evaluation service (one module per read model)."""
