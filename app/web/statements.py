"""The statement of account as pages and downloads, shared by the portal, the back-office and
the API: one context builder for the fragment (app/partials/_statement.html), one PDF answer."""
import datetime
from flask import Response, request

from .. import statement
from ..models import Settings
from ..rules import Refused


def statement_context(contact, page_url, pdf_endpoint_url, doc_url=None, today=None, args=None):
    """The fragment's context for the period the query string asks for; a period refused (bad
    dates, from after to, too long) gives the form back with its message and no statement."""
    today = today or datetime.date.today()
    args = request.args if args is None else args
    context = {"contact": contact, "page_url": page_url, "doc_url": doc_url, "presets": statement.PRESETS,
               "preset_labels": statement.PRESET_LABELS, "buckets": statement.BUCKETS,
               "bucket_labels": statement.BUCKET_LABELS, "payment_methods": statement.method_labels(),
               "statement": None, "period": None, "error": None,
               "form_from": (args.get("from") or "")[:10], "form_to": (args.get("to") or "")[:10]}
    try:
        period = statement.read_period(args, today)
    except Refused as exc:
        context["error"] = exc
        return context
    context.update(period=period, statement=statement.build(contact, period, today),
                   pdf_url=pdf_endpoint_url(**period.args()),
                   form_from=period.start.isoformat(), form_to=period.end.isoformat())
    return context


def pdf_response(contact, built, language):
    """The statement's PDF as an attachment (304 when the client has this one)."""
    settings = Settings.get_solo()
    tag = statement.etag(contact, built, language, settings)
    if request.if_none_match.contains_weak(tag):
        resp = Response(status=304)
    else:
        resp = Response(statement.statement_pdf(contact, built, language, settings, tag), mimetype="application/pdf")
        resp.headers["Content-Disposition"] = f'attachment; filename="{statement.filename(built)}"'
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "no-store"
    return resp
