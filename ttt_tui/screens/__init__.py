"""Modal screens: help, model picker, approval and small dialogs."""
