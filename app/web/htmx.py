"""One helper decides whether a response is a whole page or an HTMX fragment."""
from flask import make_response, render_template, request


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


def render(page_template, fragment_template, status=200, **context):
    """Render the fragment alone for an HTMX request, else the page (which includes it)."""
    template = fragment_template if is_fragment_request() else page_template
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
