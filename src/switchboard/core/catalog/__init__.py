"""Catalog: model names, aliases and prices."""
