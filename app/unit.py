"""The unit of work: one request, one job run or one CLI command, i.e. one Flask app context.

The domain keeps per-unit values here (the business row read once, the gateway settings, the
jobs to hand to Huey after the commit) instead of in flask.g, a web notion: the same code runs
in a request, in the worker and in the CLI, and what it keeps ends with the unit."""
from flask import has_app_context
from flask.globals import app_ctx

_KEY = "_portal_unit"


def scratch():
    """This unit's dict, or None outside any unit (then nothing is kept)."""
    if not has_app_context():
        return None
    ctx = app_ctx._get_current_object()
    store = getattr(ctx, _KEY, None)
    if store is None:
        store = {}
        setattr(ctx, _KEY, store)
    return store


def remember(key, compute):
    """compute() once per unit; outside a unit, every time."""
    store = scratch()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]


def forget(key):
    store = scratch()
    if store is not None:
        store.pop(key, None)


def pop(key, default=None):
    store = scratch()
    return default if store is None else store.pop(key, default)
