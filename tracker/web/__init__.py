"""Blueprints for the pages, one per audience."""
