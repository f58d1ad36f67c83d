"""One helper decides whether a response is a whole page or an HTMX fragment."""
from flask import render_template, request


def is_fragment_request():
    """A plain HTMX request wants the fragment; a boosted navigation or a history restore
    wants the page (htmx 4 says so in HX-Request-Type, htmx 2 in HX-Boosted/HX-History-...)."""
    if request.headers.get("HX-Request") != "true":
        return False
    if request.headers.get("HX-Request-Type") == "full":
        return False
    if request.headers.get("HX-Boosted") or request.headers.get("HX-History-Restore-Request"):
        return False
    return True


def render(page, fragment, status=200, **context):
    """Render `fragment` alone for an HTMX request, else `page` (which includes it)."""
    template = fragment if is_fragment_request() else page
    response = render_template(template, **context)
    from flask import make_response
    resp = make_response(response, status)
    resp.headers["Vary"] = "HX-Request"
    return resp
