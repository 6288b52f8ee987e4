"""Orchestration: capplan.toml plus flags resolved once into inputs, the models run once, one result.

Layers (checked by import-linter in ``make test``): cli → app → report / loadtest / store → models → errors.
"""
