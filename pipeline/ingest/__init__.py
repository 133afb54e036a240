"""Readers: every export our users have, into :mod:`pipeline.model`'s tables."""
