"""One helper decides whether a response is a whole page or an HTMX fragment (with the other
fragments it swaps out of band)."""
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


def render(page_template, fragment_template, status=200, oob=(), **context):
    """Render the fragment alone for an HTMX request, else the page (which includes it).

    `oob` names fragments shown elsewhere on the page that the change also touches (the header's
    cart badge, the document's status): an HTMX answer carries each of them after the fragment,
    rendered with `oob` true so that it marks itself hx-swap-oob; the page has them already."""
    if is_fragment_request():
        html = render_template(fragment_template, **context)
        html += "".join(render_template(name, **dict(context, oob=True)) for name in oob)
    else:
        html = render_template(page_template, **context)
    response = make_response(html, status)
    response.headers["Vary"] = "HX-Request"
    return response
