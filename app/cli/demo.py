"""`flask demo [--if-empty]`: load the demo business of app/demo_data.py in one transaction.

Also registers `flask backup` (app/backup.py): app/cli.py calls register_cli() here once.
"""
import datetime
from decimal import Decimal

import click
from flask import current_app

from .. import backup, money, numbering, snapshot
from . import demo_data as data
from ..db import db
from ..models import (INVOICE, ORDER, QUOTE, Category, Comment, Contact, Document, DocumentLine,
                     LineTax, Payment, Person, Product, ProductTax, QuoteDecision, Settings,
                     StaffUser, TaxRate, utcnow)
from ..passwords import hash_password


def register_cli(app):
    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True,
                  help="Do nothing when the database already has a staff user or a contact.")
    def demo_command(if_empty):
        """Load demo data: business settings (replaced), staff, customers, catalog, documents."""
        with db.connection_context(), db.atomic():
            if if_empty and (StaffUser.select().exists() or Contact.select().exists()):
                click.echo("The database already has staff users or contacts: demo data not loaded.")
                return
            clash = demo_clash()
            if clash:
                raise click.ClickException(f"demo data is already loaded ({clash} exists).")
            counts = load_demo()
        _print_summary(counts)

    backup.register_cli(app)


def demo_clash():
    """The first demo row whose unique key is already taken, or None."""
    if StaffUser.select().where(StaffUser.email == data.STAFF["email"]).exists():
        return data.STAFF["email"]
    emails = [person[1] for c in data.CONTACTS for person in c["people"]]
    person = Person.select(Person.email).where(Person.email.in_(emails)).first()
    if person:
        return person.email
    product = Product.select(Product.sku).where(Product.sku.in_([p[1] for p in data.PRODUCTS])).first()
    return product.sku if product else None


def load_demo(today=None):
    """Write the demo rows (the caller holds the transaction); returns counts by kind."""
    today = today or datetime.date.today()
    settings = Settings.get_solo()
    for field, value in data.SETTINGS.items():
        setattr(settings, field, value)
    settings.save()

    staff = StaffUser.create(email=data.STAFF["email"], name=data.STAFF["name"],
                             password_hash=hash_password(data.STAFF["password"]))
    taxes = {key: TaxRate.get_or_create(name=name, rate_bp=rate, defaults={"is_default": default})[0]
             for key, (name, rate, default) in data.TAXES.items()}
    contacts, people = _contacts()
    products = _catalog(taxes)
    loader = _DocumentLoader(today, settings, staff, contacts, people, products, taxes)
    # Numbers follow issue dates, as they would have been given out.
    for spec in sorted(data.DOCUMENTS, key=lambda d: d["issued"]):
        loader.load(spec)
    return {"contacts": len(contacts), "people": len(people), "products": len(products),
            "categories": len(data.CATEGORIES), "documents": len(data.DOCUMENTS)}


def _contacts():
    contacts, people = {}, {}
    fields = ("kind", "name", "tax_id", "email", "phone", "billing_address", "shipping_address", "country",
              "language", "currency", "gateways", "portal_enabled", "catalog_enabled",
              "discount_bp", "notes")
    for spec in data.CONTACTS:
        contact = Contact.create(**{f: spec[f] for f in fields if f in spec})
        contact.exempt_note = spec.get("exempt", "")
        contacts[spec["key"]] = contact
        for name, email, language, *role in spec["people"]:
            # No password: people reach the portal through access links the business sends.
            people[email] = Person.create(contact=contact, name=name, email=email.lower(),
                                          language=language, role=role[0] if role else "owner")
    return contacts, people


def _catalog(taxes):
    categories, siblings = {}, {}
    for key, (name, parent) in data.CATEGORIES.items():
        position = siblings[parent] = siblings.get(parent, -1) + 1
        categories[key] = Category.create(name=name, parent=categories.get(parent), position=position)
    products = {}
    for category, sku, name, price, stock, extra in data.PRODUCTS:
        extra = dict(extra)
        tax_keys = extra.pop("taxes", ["iva21"])
        product = Product.create(sku=sku, name=name, category=categories[category], price=price,
                                 currency="EUR", stock=stock, **extra)
        for key in tax_keys:
            ProductTax.create(product=product, tax_rate=taxes[key])
        product.tax_list = [(taxes[key].name, taxes[key].rate_bp) for key in tax_keys]
        products[sku] = product
    return products


def _at(day, hour=9):
    """A naive UTC time on that day, never in the future."""
    return min(datetime.datetime.combine(day, datetime.time(hour, 0)), utcnow())


class _DocumentLoader:
    """Turns one document spec of demo_data.DOCUMENTS into rows."""

    def __init__(self, today, settings, staff, contacts, people, products, taxes):
        self.today, self.settings, self.staff = today, settings, staff
        self.contacts, self.people, self.products, self.taxes = contacts, people, products, taxes
        self.by_key = {}

    def load(self, spec):
        contact = self.contacts[spec["contact"]]
        kind, status = spec["kind"], spec["status"]
        issued = self.today + datetime.timedelta(days=spec["issued"])
        currency = contact.currency or self.settings.default_currency
        days = lambda n: issued + datetime.timedelta(days=n)  # noqa: E731
        notes = "\n".join(n for n in (spec.get("notes", ""), contact.exempt_note) if n)
        doc = Document.create(
            contact=contact, kind=kind, status=status, currency=currency,
            number="" if status == "draft" else numbering.take(kind, issued, self.settings), issue_date=issued,
            due_date=days(spec.get("due", self.settings.payment_terms_days)) if kind == INVOICE else None,
            valid_until=days(self.settings.quote_validity_days) if kind == QUOTE else None,
            reference=spec.get("reference", ""), notes=notes, terms=self.settings.default_terms,
            shipping_address=contact.shipping_address if kind == ORDER else "",
            source=self.by_key[spec["source"]] if "source" in spec else None,
            created_at=_at(issued), updated_at=_at(issued),
            issued_at=None if status == "draft" else _at(issued))
        for position, line in enumerate(spec["lines"]):
            self._line(doc, position, line, contact)
        doc.recompute()
        for n, (gateway, share, after) in enumerate(spec.get("payments", []), 1):
            self._payment(doc, n, gateway, share, days(after))
        if status == "paid" and doc.amount_paid != doc.total:
            raise ValueError(f"demo data: {doc.number} is paid but its payments do not add up")
        doc.save()
        if status != "draft":
            snapshot.freeze(doc, self.settings)
        if "decision" in spec:
            self._decision(doc, spec["decision"], days)
        for author, after, body in spec.get("comments", []):
            person = self.people.get(author)
            Comment.create(document=doc, person=person, staff=None if person else self.staff,
                           author_name=person.name if person else self.staff.name, body=body,
                           created_at=_at(days(after), 11))
        if "key" in spec:
            self.by_key[spec["key"]] = doc

    def _line(self, doc, position, spec, contact):
        product = self.products[spec["sku"]] if "sku" in spec else None
        if product:
            if spec["price"] is None and doc.currency != product.currency:
                raise ValueError(f"demo data: give {product.sku} a price in {doc.currency}")
            description, taxes = product.name, product.tax_list
            price = product.price if spec["price"] is None else spec["price"]
        else:
            description, price = spec["description"], spec["price"]
            taxes = [(self.taxes[k].name, self.taxes[k].rate_bp) for k in spec["taxes"]]
        if contact.exempt_note:
            taxes = []
        qty_milli = int(Decimal(str(spec["qty"])) * money.QTY_SCALE)
        discount_bp = spec["disc"] * 100
        line = DocumentLine.create(document=doc, position=position, product=product,
                                   description=description, qty_milli=qty_milli, unit_price=price,
                                   discount_bp=discount_bp,
                                   net=money.line_net(qty_milli, price, discount_bp))
        for name, rate_bp in taxes:
            LineTax.create(line=line, name=name, rate_bp=rate_bp)

    def _payment(self, doc, n, gateway, share, day):
        amount = (doc.total - doc.amount_paid if share == "all"
                  else money.round_half_up(Decimal(doc.total) * share / 100))
        Payment.create(document=doc, gateway=gateway, amount=amount, currency=doc.currency,
                       status="succeeded", idempotency_key=f"demo-{doc.number}-{n}",
                       provider_ref=f"pi_demo_{doc.number.replace('-', '')}_{n}" if gateway == "stripe" else "",
                       method_note="Transferencia bancaria" if gateway == "manual" else "",
                       paid_at=_at(day, 12), created_at=_at(day, 12),
                       created_by=self.staff if gateway == "manual" else None)
        doc.amount_paid += amount
        doc.updated_at = max(doc.updated_at, _at(day, 12))

    def _decision(self, doc, spec, days):
        person = self.people[spec["by"]]
        QuoteDecision.create(document=doc, decision=spec["decision"], person=person,
                             signer_name=spec["signer"], po_reference=spec.get("po", ""),
                             reason=spec.get("reason", ""), ip="192.0.2.10",
                             user_agent="Mozilla/5.0 (X11; Linux x86_64) demo",
                             document_version=doc.version, document_hash=doc.content_hash(),
                             created_at=_at(days(spec["after"]), 10))


def _print_summary(counts):
    base = current_app.config["BASE_URL"]
    click.echo("Demo data loaded: {contacts} contacts, {people} people, {documents} documents, "
               "{products} products in {categories} categories.".format(**counts))
    click.echo(f"Staff sign-in: {base}/staff/login")
    click.echo(f"  email:    {data.STAFF['email']}")
    click.echo(f"  password: {data.STAFF['password']}")
    emails = ", ".join(person[1] for c in data.CONTACTS for person in c["people"])
    click.echo(f"Demo portal people: {emails}")
    click.echo("  portal sign-in: see README")
