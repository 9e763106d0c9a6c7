"""The ``jalin`` console command."""
