"""The receipt of an online payment as a PDF, rendered by app/pdf.py's renderer in the
language of whoever asks (the portal's locale: the person's own language). A refunded payment's
receipt lists what was given back and what the business kept."""
from flask import render_template
from flask_babel import get_locale

from .. import pdf
from ..models import Settings
from . import label


def receipt_pdf(payment):
    settings = Settings.get_solo()
    html = render_template("payments/receipt.html", payment=payment, shares=list(payment.shares()),
                           settings=settings, contact=payment.document.contact, logo_url=pdf.LOGO_URL,
                           method=label(payment.gateway), language=str(get_locale()),
                           refunds=[r for r in payment.refunds() if r.status == "succeeded"])
    return pdf.render_html(html, pdf.logo(settings.logo_hash, current=True), settings.logo_hash)
