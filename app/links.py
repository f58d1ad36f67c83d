"""Absolute links the domain hands out (mails, gateway return pages, the API, webhooks), built
from BASE_URL and the app's URL map: never from a request's Host header, and the same in a
request, the worker and the CLI."""
from flask import current_app


def external_url(path):
    """BASE_URL + an absolute path of ours."""
    return current_app.config["BASE_URL"] + path


def external_link(endpoint, **values):
    """The absolute URL of an endpoint with its values."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return external_url(path)
