"""Placeholder: replaced by the PDF work in this same session."""
from flask import render_template


def render_pdf(context):
    from weasyprint import HTML
    html = render_template("portal/documents/print.html", **context)
    return HTML(string=html).write_pdf()
