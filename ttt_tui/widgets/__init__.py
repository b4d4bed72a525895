"""Widgets of the main screen, each named for what it shows."""
