""""Verify this invoice": a public page, reached from the QR code printed on each issued invoice
and credit note, where anybody holding the paper (the customer, their bank) confirms that the
business issued it, for how much, to which account it should be paid, and whether it is still
open. It shows nothing else about the customer: the code is the only key, so the page must not
say more than the paper already does.

The code is 128 random bits (32 hex digits), unique, given when the document is issued (or, for
one issued before codes existed, the first time its sheet is drawn) and never changed: a printed
QR stays valid. Codes are not derived from ids or numbers,
so they cannot be enumerated; the view is rate-limited as well."""
import re
import secrets

from . import snapshot
from .links import external_url
from .models import CREDIT_NOTE, INVOICE, Document, Settings

CODE_RE = re.compile(r"^[0-9a-f]{32}$")
KINDS = (INVOICE, CREDIT_NOTE)


def has_code(doc):
    return doc.kind in KINDS and doc.status != "draft" and bool(doc.number)


def code_for(doc):
    """The document's code, given now (once, whatever the concurrency) if it has none yet."""
    if doc.verify_code or not has_code(doc):
        return doc.verify_code
    code = new_code()
    given = (Document.update(verify_code=code)
             .where((Document.id == doc.id) & Document.verify_code.is_null(True)).execute())
    if not given:   # another request gave it first: theirs stands
        code = Document.select(Document.verify_code).where(Document.id == doc.id).scalar()
    doc.verify_code = code
    return code


def new_code():
    """A fresh code; issuing gives one in the statement that numbers the document."""
    return secrets.token_hex(16)


def url_for_code(code):
    return external_url(f"/verify/{code}")


def find(code):
    """The issued invoice or credit note with this code, or None (a malformed code reads nothing)."""
    if not isinstance(code, str) or not CODE_RE.match(code):
        return None
    return (Document.select().where((Document.verify_code == code) & Document.kind.in_(KINDS)
                                    & (Document.status != "draft")).first())


def facts(doc, settings=None):
    """What the public page shows: the business and the document as issued, where to pay, and
    its state today; nothing about the customer."""
    settings = settings or Settings.get_solo()
    data = snapshot.frozen(doc) or snapshot.build(doc, settings)
    business = data["business"]
    printed_iban = business.get("iban", settings.iban)
    if doc.status == "void":
        state = "void"
    elif doc.kind == CREDIT_NOTE:
        state = "issued"
    elif doc.amount_credited >= doc.total:
        state = "credited"
    elif doc.amount_due == 0:
        state = "paid"
    else:
        state = "open"
    changed = settings.bank_changed_at
    return {"business": business.get("name") or settings.name, "kind": doc.kind, "number": doc.number,
            "issue_date": doc.issue_date, "due_date": doc.due_date, "total": doc.total, "currency": doc.currency,
            "amount_due": doc.amount_due if state == "open" else 0, "state": state,
            "printed_iban": printed_iban, "iban": settings.iban,
            "bank_changed_on": changed.date() if changed and changed.date() >= doc.issue_date else None}


def qr_svg(url):
    """The QR code of `url` as inline SVG (the page and the PDF draw the same), linked by the caller."""
    import segno
    from markupsafe import Markup
    return Markup(segno.make(url, error="m").svg_inline(scale=2, border=0, dark="#111", omitsize=True))
