"""Placeholder replaced by the demo-data work in this same session."""


def register_cli(app):
    pass
