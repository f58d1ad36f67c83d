"""Small factory helpers: make_contact(), make_document(contact, lines=...), ..., and the bytes
of small images for upload tests."""
import datetime
import itertools
import struct
import zlib

from app import money
from app.db import db
from app.models import (Category, Contact, Document, DocumentLine, LineTax, Person, Product,
                        ProductTax, Settings, StaffUser, TaxRate)
from app.passwords import hash_password

PASSWORD = "correct horse battery"   # what make_staff gives, and what portal tests give people

_seq = itertools.count(1)
_HASH = {}


def _hash(password):
    if password not in _HASH:
        _HASH[password] = hash_password(password)
    return _HASH[password]


def make_staff(email=None, password=PASSWORD, name="Staff Member"):
    return StaffUser.create(email=email or f"staff{next(_seq)}@example.com", name=name,
                            password_hash=_hash(password))


def make_contact(name=None, **fields):
    fields.setdefault("portal_enabled", True)
    return Contact.create(name=name or f"Contact {next(_seq)}", **fields)


def make_person(contact=None, email=None, password=None, **fields):
    contact = contact or make_contact()
    return Person.create(contact=contact, name=fields.pop("name", "Ana García"),
                         email=email or f"person{next(_seq)}@example.com",
                         password_hash=_hash(password) if password else None, **fields)


def make_tax(name="IVA", rate_bp=2100):
    tax, _ = TaxRate.get_or_create(name=name, rate_bp=rate_bp)
    return tax


def make_document(contact=None, kind="invoice", status="open", lines=None, currency="EUR",
                  number=None, issue_date=None, **fields):
    """lines: [(description, qty_milli, unit_price, discount_bp, [(tax name, rate_bp)])]."""
    contact = contact or make_contact()
    lines = lines if lines is not None else [("Consulting", 1000, 10000, 0, [("IVA", 2100)])]
    issue_date = issue_date or datetime.date.today()
    with db.atomic():
        doc = Document.create(contact=contact, kind=kind, status=status, currency=currency,
                              number=number or ("" if status == "draft" else f"T-{kind[0].upper()}-{next(_seq):05d}"),
                              issue_date=issue_date, **fields)
        for pos, (desc, qty, price, disc, taxes) in enumerate(lines):
            line = DocumentLine.create(document=doc, position=pos, description=desc,
                                       qty_milli=qty, unit_price=price, discount_bp=disc,
                                       net=money.line_net(qty, price, disc))
            for name, rate in taxes:
                LineTax.create(line=line, name=name, rate_bp=rate)
        doc.recompute()
        doc.save()
    return doc


def make_category(name="Tools", parent=None):
    return Category.create(name=name, parent=parent)


def make_product(name=None, price=1000, stock=10, category=None, taxes=(("IVA", 2100),), **fields):
    product = Product.create(sku=fields.pop("sku", f"SKU-{next(_seq):05d}"), name=name or "Hammer",
                             price=price, stock=stock, category=category, **fields)
    for tax_name, rate in taxes:
        ProductTax.create(product=product, tax_rate=make_tax(tax_name, rate))
    return product


def settings(**changes):
    """Change the business row (a logo through set_logo, so that its hash goes with it)."""
    Settings.get_solo()   # the row exists
    if "logo" in changes:
        Settings.set_logo(changes.pop("logo"), changes.pop("logo_type", "image/png"))
    if changes:
        Settings.save_values(changes)
    return Settings.get_solo()


def png_bytes(size=None):
    """A real 1×1 PNG, padded with a trailing chunk to `size` bytes when asked."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")))
    if size:
        body += chunk(b"teXt", b"x" * (size - len(body) - 12 - 12))
    return body + chunk(b"IEND", b"")


# Enough of each format for the upload checks to recognise it by its magic bytes.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
