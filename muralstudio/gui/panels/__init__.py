"""Dockable panels of the main window: layers, restore, history."""
