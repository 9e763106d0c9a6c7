"""The partners service: registry of cooperation partners (Mitra).

``app`` (the API), ``workers`` (the relay), ``bootstrap`` (the composition root both use).
Importing this package loads nothing else, so ``services.partners.domain`` stays free of I/O.
"""
