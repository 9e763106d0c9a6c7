"""The exports' pure parts: ``formatting`` (Indonesian dates, money, labels, CSV/XLSX writers),
``open_data`` (the OCDS-inspired package) and ``annual_recap``. Their routes are ``export_api``;
the documents come from ``queries``. Importing this package loads nothing else."""
