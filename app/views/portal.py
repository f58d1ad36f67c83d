"""The portal home: the commercial summary a signed-in person sees first (seed item 1)."""
from flask import Blueprint, g, render_template
from flask_login import login_required

from .. import summary

bp = Blueprint("portal", __name__)


@bp.get("/")
@login_required
def home():
    """Show the person's commercial summary."""
    contact = g.person.contact
    return render_template("portal/home.html", contact=contact, balances=summary.balances(contact),
                           activity=summary.recent_activity(contact), chart=summary.monthly(contact),
                           **summary.waiting(contact))
