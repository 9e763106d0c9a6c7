"""The agreements service: cooperation agreements from draft to expiry.

``app`` (the API), ``workers`` (relay, partner replica, scheduler), ``bootstrap`` (the composition
root both use). Importing this package loads nothing else, so ``services.agreements.domain`` stays
free of I/O.
"""
