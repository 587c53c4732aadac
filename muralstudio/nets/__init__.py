"""Torch modules and the weights registry (models/manifest.json)."""
