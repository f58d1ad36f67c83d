"""The acceptance certificate of a quote: one page that both sides can keep, with what the
acceptance recorded (app/quotes.py: who accepted, the name they typed, their purchase order, the
address and browser they used, when) and what they accepted (the quote's number, total, version
and the SHA-256 of its content, terms included), with a check made when the page is printed that
the quote still hashes to what was accepted. Rendered on demand like receipts: rare, small, and
its "still the same" line must be current."""
import hashlib

from flask import render_template
from flask_babel import force_locale

from . import pdf
from .models import QuoteDecision, Settings


def decision_of(doc):
    """The acceptance of this quote, or None (not a quote, not decided, or declined)."""
    if doc.kind != "quote":
        return None
    return QuoteDecision.get_or_none((QuoteDecision.document == doc) & (QuoteDecision.decision == "accepted"))


def facts(doc, decision):
    return {"unchanged": doc.content_hash() == decision.document_hash,
            "terms_hash": hashlib.sha256((doc.terms or "").encode()).hexdigest()}


def certificate_pdf(doc, decision, language):
    settings = Settings.get_solo()
    with force_locale(language):
        html = render_template("pdf/acceptance.html", doc=doc, decision=decision, business=settings,
                               contact=doc.contact, page_label=pdf.page_label_css(), **facts(doc, decision))
    return pdf.render_html(html, pdf.logo(settings.logo_hash, current=True), settings.logo_hash)


def filename(doc):
    return pdf.safe_filename(doc.number, suffix="-acceptance.pdf")
