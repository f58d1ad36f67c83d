"""Back-office: API tokens for the business's other software: create (shown once), revoke."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...tokens import create_api_token as create_token
from ...web.forms import Form
from ...models import ApiToken
from . import staff_blueprint

bp = staff_blueprint("api_tokens", "/api/tokens")


def index_page(form=None, status=200):
    return render_template("staff/api/tokens.html", tokens=list(ApiToken.listed()),
                           form=form or Form()), status


@bp.get("/")
def index():
    """List API tokens, with the form to create one."""
    return index_page()


@bp.post("/")
def create():
    """Create a token and show it this once; only its hash is kept."""
    form = Form(request.form)
    name = form.text("name", required=True, max_length=100)
    read_only = form.checkbox("read_only")
    if not form.ok:
        return index_page(form, 422)
    token, row = create_token(name, can_write=not read_only, staff=g.staff)
    # Answered directly, not through a redirect: the token must not pass through the session.
    return render_template("staff/api/token_created.html", token=token, row=row)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id):
    """Revoke a token: its next request is refused."""
    row = ApiToken.get_or_none(ApiToken.id == token_id)
    if row is None:
        abort(404)
    if row.revoke():
        flash(_("The token %(name)s is revoked.", name=row.name), "success")
    else:
        flash(_("This token was already revoked."), "info")
    return redirect(url_for(".index"), 303)
