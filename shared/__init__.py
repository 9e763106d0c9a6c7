"""Jalin seedwork: the mechanisms every service shares (envelope, event store, relay,
consumer runner, HTTP conventions, auth, config, logging, metrics).

Nothing in this package knows about partners, agreements or evaluations.
"""
