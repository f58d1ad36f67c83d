"""The portal home: the commercial summary a signed-in person sees first (seed item 1)."""
from flask import g, render_template

from .. import summary
from . import portal_blueprint

bp = portal_blueprint("portal", __name__)


@bp.get("/")
def home():
    """Show the person's commercial summary."""
    contact = g.contact
    figures = summary.figures(contact)
    return render_template("portal/home.html", contact=contact, balances=figures["balances"],
                           activity=summary.recent_activity(contact), chart=figures["chart"],
                           **summary.waiting(contact))
