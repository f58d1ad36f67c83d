"""Context builders for the fragments that several portal views render: the document page
includes them, and each mutation that re-renders one calls the same builder, so a fragment
never misses a value. They build URLs, so they live with the views, not the domain."""
from flask import url_for

from .. import comments, quotes
from ..web.forms import Form


def comments_context(doc, form=None):
    """What partials/_comments.html needs."""
    return {"comments": comments.thread(doc), "comment_form": form or Form(),
            "comment_url": url_for("comments.create", doc_id=doc.id)}


def decision_context(doc, form=None, refused=None):
    """What partials/_quote_decision.html needs."""
    return {"decision": quotes.decision_for(doc) if doc.kind == "quote" else None,
            "decision_form": form or Form(),
            "decision_problem": refused or (quotes.decidable_problem(doc) if doc.status == "open" else None),
            "decision_url": url_for("quotes.decide", doc_id=doc.id)}
