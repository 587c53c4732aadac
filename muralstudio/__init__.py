"""Mural Studio: digital restoration of damaged wall paintings."""

__version__ = "0.1.0"
