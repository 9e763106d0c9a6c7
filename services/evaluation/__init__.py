"""The evaluation service: read models, dashboards, evaluations (monev), audit.

``app`` (the API and the dashboard), ``workers`` (projector, relay), ``bootstrap`` (the composition
root both use). Importing this package loads nothing else, so ``services.evaluation.domain`` stays
free of I/O.
"""
