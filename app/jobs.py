"""Placeholder replaced by the job-queue work in this same session."""


def init_app(app):
    pass


def register_cli(app):
    pass
