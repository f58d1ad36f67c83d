"""The bare twins of the portal's measured actions, registered on bench/baseline.py's app.

Each does what its portal action must do and nothing else: the queries written plainly with
peewee on the portal's own tables, the page or fragment rendered by a plain Jinja template of
the same shape and size (bench/templates/). What the portal does on top (session, CSRF, rate
limits, translations, audit rows, mails) is its overhead, which is what the bench measures.
The contact and person come from the query string where the portal takes them from the session.
"""
import datetime
import os

from flask import Response, abort, render_template, request
from peewee import JOIN, SqliteDatabase, fn

from bench.baseline import (Activity, CartItem, Category, Comment, Contact, Document, Line, LineTax, Payment,
                            Product, ProductImage, ProductTax, Settings, TaxRate, db)

TOKEN = "x" * 88            # the size of a portal CSRF token
LANGUAGES = [("es", "Español"), ("en", "English"), ("ca", "Català"), ("fr", "Français"), ("de", "Deutsch"),
             ("it", "Italiano"), ("pt", "Português")]
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
CARDS = 24
ACTIVITY = ("status_open", "payment_manual", "payment_succeeded", "comment", "quote_accepted", "quote_declined",
            "order_placed", "credit_note_issued", "payment_reversed", "refund_succeeded")


def money(minor, currency="EUR"):
    sign = "-" if minor < 0 else ""
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{abs(minor) / 100:,.2f}"


def short_money(minor, currency):
    value = minor / 100
    text = f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k" if value >= 1000 else f"{value:.0f}"
    return SYMBOLS.get(currency, currency + " ") + text


def _month(field):
    """'YYYY-MM' of a date or timestamp column, in each database's own words."""
    if isinstance(db.obj, SqliteDatabase):
        return fn.strftime("%Y-%m", field)
    return fn.to_char(field, "YYYY-MM")


def _by_currency(query):
    return dict(query.tuples())


def _contact():
    return Contact.get_or_none(Contact.id == request.args.get("contact", 1, type=int)) or abort(404)


def _frame(title, here):
    """What the page frame (_shell.html) shows: the business name is a row of the database."""
    return {"title": title, "here": here, "business": Settings.get_by_id(1), "person": "Person",
            "languages": LANGUAGES, "token": TOKEN}


def _month_starts(today, months=12):
    starts, year, month = [], today.year, today.month
    for _ in range(months):
        starts.insert(0, datetime.date(year, month, 1))
        month, year = (month - 1, year) if month > 1 else (12, year - 1)
    return starts


def _chart(contact, today):
    """The 12-month chart: invoiced and paid per month in the main currency, summed in SQL."""
    starts = _month_starts(today)
    invoices = Document.select().where((Document.contact == contact) & (Document.status.not_in(("draft", "void")))
                                       & (Document.kind == "invoice") & (Document.issue_date >= starts[0]))
    main = (invoices.select(Document.currency).group_by(Document.currency)
            .order_by(fn.COUNT(Document.id).desc()).limit(1).scalar())
    if main is None:
        return None
    month = _month(Document.issue_date)
    invoiced = dict(invoices.where(Document.currency == main).select(month, fn.SUM(Document.total))
                    .group_by(month).tuples())
    paid_month = _month(Payment.paid_at)
    paid = dict(Payment.select(paid_month, fn.SUM(Payment.amount - Payment.amount_refunded))
                .where((Payment.contact_id == contact.id) & Payment.status.in_(("succeeded", "refunded"))
                       & (Payment.currency == main)
                       & (Payment.paid_at >= datetime.datetime.combine(starts[0], datetime.time())))
                .group_by(paid_month).tuples())
    rows = [(m, invoiced.get(m.strftime("%Y-%m")) or 0, paid.get(m.strftime("%Y-%m")) or 0) for m in starts]
    top = max([max(i, p) for _m, i, p in rows] + [1])
    width, bars = 17.17, []
    for n, (m, i, p) in enumerate(rows):
        hi, hp = round(140 * i / top, 1), round(140 * p / top, 1)
        bars.append({"month": m, "invoiced": i, "paid": p, "x": round(88 + n * 46.33, 2), "yi": 158 - hi,
                     "hi": hi, "yp": 158 - hp, "hp": hp, "li": short_money(i, main), "lp": short_money(p, main)})
    grid = [(158, short_money(0, main)), (88, short_money(top // 2, main)), (18, short_money(top, main))]
    return {"currency": main, "bars": bars, "grid": grid, "width": width}


def register(app):
    app.add_template_filter(money)

    @app.get("/summary")
    def summary():
        contact, today = _contact(), datetime.date.today()
        docs = Document.select().where((Document.contact == contact) & (Document.status != "draft"))
        due = Document.total - Document.amount_credited - Document.amount_paid
        open_invoices = docs.where((Document.kind == "invoice") & (Document.status == "open"))
        favour = Document.amount_paid + Document.amount_credited - Document.total
        quotes = docs.where((Document.kind == "quote") & (Document.status == "open")
                            & (Document.valid_until.is_null() | (Document.valid_until >= today)))
        quote_sums = list(quotes.select(Document.currency, fn.COUNT(Document.id), fn.SUM(Document.total))
                          .group_by(Document.currency).tuples())
        balances = {
            "outstanding": _by_currency(open_invoices.select(Document.currency, fn.SUM(due))
                                        .group_by(Document.currency)),
            "overdue": _by_currency(open_invoices.where(Document.due_date < today)
                                    .select(Document.currency, fn.SUM(due)).group_by(Document.currency)),
            "in_favour": _by_currency(docs.where((Document.kind == "invoice") & (Document.status == "paid")
                                                 & (favour > 0))
                                      .select(Document.currency, fn.SUM(favour)).group_by(Document.currency)),
            "quotes_count": sum(n for _c, n, _t in quote_sums),
            "quotes_total": {c: t for c, _n, t in quote_sums},
            "open_orders": docs.where((Document.kind == "order")
                                      & Document.status.in_(("open", "confirmed", "shipped"))).count(),
        }
        activity = list(Activity.select(Activity.document_id, Activity.action, Activity.created_at, Document.number)
                        .join(Document, on=(Activity.document_id == Document.id))
                        .where((Activity.contact_id == contact.id) & (Document.contact == contact)
                               & (Document.status != "draft") & Activity.action.in_(ACTIVITY))
                        .order_by(Activity.created_at.desc()).limit(8).dicts())
        return render_template(
            "summary.html", **_frame("Summary", "/"), contact=contact, balances=balances, activity=activity,
            pending=list(open_invoices.order_by(Document.due_date, Document.id).limit(5)),
            quotes=list(quotes.order_by(Document.valid_until, Document.id).limit(5)),
            orders=list(docs.where(Document.kind == "order")
                        .order_by(Document.issue_date.desc(), Document.id.desc()).limit(5)),
            chart=_chart(contact, today), due=lambda d: d.total - d.amount_credited - d.amount_paid,
            total=lambda d: d.total)

    def _document(doc_id):
        return (Document.select(Document, Contact).join(Contact)
                .where((Document.id == doc_id) & (Document.contact == request.args.get("contact", 1, type=int))
                       & (Document.status != "draft")).first() or abort(404))

    def _comments(doc):
        return list(Comment.select().where(Comment.document_id == doc.id).order_by(Comment.created_at, Comment.id))

    @app.get("/document/<int:doc_id>")
    def document(doc_id):
        doc = _document(doc_id)
        lines = list(Line.select().where(Line.document == doc.id).order_by(Line.position, Line.id))
        taxes = {}
        for t in LineTax.select().where(LineTax.line_id.in_([line.id for line in lines])).order_by(LineTax.id):
            taxes.setdefault(t.line_id, []).append(t)
        bases = {}   # each tax on the sum of the nets it applies to, as the sheet shows it
        for line in lines:
            for t in taxes.get(line.id, []):
                bases[(t.name, t.rate_bp)] = bases.get((t.name, t.rate_bp), 0) + line.net
        tax_rows = [(name, rate, base, (base * rate + (5000 if rate > 0 else -5000)) // 10000)
                    for (name, rate), base in bases.items()]
        payments = list(Payment.select().where((Payment.document_id == doc.id) & (Payment.status == "succeeded"))
                        .order_by(Payment.paid_at))
        return render_template("document.html", **_frame(doc.number, "/invoices"), doc=doc, contact=doc.contact,
                               lines=lines, taxes=taxes, tax_rows=tax_rows, payments=payments, comments=_comments(doc))

    @app.post("/documents/<int:doc_id>/comments")
    def comment(doc_id):
        doc = _document(doc_id)
        body = request.form.get("body", "").strip()
        if not 1 <= len(body) <= 5000:
            abort(422)
        Comment.create(document_id=doc.id, person_id=request.args.get("person", 1, type=int),
                       author_name="Person", body=body, created_at=datetime.datetime.utcnow())
        return render_template("_comments.html", doc=doc, comments=_comments(doc), token=TOKEN)

    def _cards(query, next_url, page=1):
        found = list(query.order_by(Product.name, Product.sku, Product.id).limit(CARDS + 1)
                     .offset((page - 1) * CARDS))
        products = found[:CARDS]
        ids = [p.id for p in products]
        taxes = {}
        for pid, name, rate in (ProductTax.select(ProductTax.product_id, TaxRate.name, TaxRate.rate_bp)
                                .join(TaxRate, on=(ProductTax.tax_rate_id == TaxRate.id))
                                .where(ProductTax.product_id.in_(ids)).tuples()):
            taxes.setdefault(pid, []).append((name, rate))
        images = {}
        for image_id, pid in (ProductImage.select(ProductImage.id, ProductImage.product_id)
                              .where(ProductImage.product_id.in_(ids))
                              .order_by(ProductImage.product_id, ProductImage.position).tuples()):
            images.setdefault(pid, image_id)
        return {"products": products, "taxes": taxes, "images": images, "next_url": next_url,
                "next_page": f"{next_url}&page={page + 1}" if len(found) > CARDS else None, "token": TOKEN}

    def _shown():
        return Product.select().where(Product.active & Product.visible)

    @app.get("/catalog")
    def catalog():
        category = Category.get_or_none(Category.id == request.args.get("category", 1, type=int)) or abort(404)
        categories = list(Category.select().order_by(Category.position, Category.id))
        counts = dict(_shown().select(Product.category_id, fn.COUNT(Product.id))
                      .group_by(Product.category_id).tuples())
        children = {}
        for c in categories:
            children.setdefault(c.parent_id, []).append(c)
        tree = []

        def walk(parent, depth):   # depth first; a count includes the subcategories'
            total = 0
            for c in children.get(parent, []):
                row = [c, depth, 0]
                tree.append(row)
                row[2] = counts.get(c.id, 0) + walk(c.id, depth + 1)
                total += row[2]
            return total
        walk(None, 0)
        subtree = [category.id] + [c.id for c in children.get(category.id, [])]
        query = _shown().where(Product.category_id.in_(subtree))
        context = {**_frame(category.name, "/catalog/"), **_cards(query, f"/catalog/?category={category.id}")}
        return render_template("catalog.html", category=category, tree=tree, **context)

    @app.get("/catalog/search")
    def search():
        q = request.args.get("q", "").strip()[:100]
        query = _shown().join(Category, JOIN.LEFT_OUTER, on=(Product.category_id == Category.id))
        if q:
            query = query.where((Product.name ** f"%{q}%") | (Product.sku ** f"%{q}%"))
        return render_template("_catalog_list.html", **_cards(query, f"/catalog/?q={q}"))

    @app.post("/cart-items")
    def cart_add():
        contact_id = request.form.get("contact", 1, type=int)
        quantity = request.form.get("quantity", 1, type=int)
        product = _shown().where(Product.id == request.form.get("product_id", 0, type=int)).first() or abort(404)
        if not quantity or not 1 <= quantity <= 10_000:
            abort(422)
        with db.atomic():
            (CartItem.insert(contact_id=contact_id, product_id=product.id, quantity=quantity,
                             unit_price_seen=product.price, added_at=datetime.datetime.utcnow())
             .on_conflict(conflict_target=[CartItem.contact_id, CartItem.product_id],
                          update={CartItem.quantity: CartItem.quantity + quantity,
                                  CartItem.unit_price_seen: product.price})
             .execute())
        added = (CartItem.select(CartItem.quantity)
                 .where((CartItem.contact_id == contact_id) & (CartItem.product_id == product.id)).scalar())
        units = CartItem.select(fn.COALESCE(fn.SUM(CartItem.quantity), 0)).where(
            CartItem.contact_id == contact_id).scalar()
        return render_template("_cart_added.html", p=product, next_url=request.form.get("next", "/catalog/"),
                               added=added, units=units, token=TOKEN)

    @app.get("/pdf-cached/<int:doc_id>")
    def pdf_cached(doc_id):
        doc = _document(doc_id)
        folder = os.path.join(os.environ.get("INSTANCE_PATH", "/tmp"), "bare-pdf-cache")
        path = os.path.join(folder, f"{doc.id}.pdf")
        if not os.path.exists(path):   # the first request renders it, as the portal's does
            import weasyprint
            lines = list(Line.select().where(Line.document == doc.id).order_by(Line.position))
            html = render_template("invoice.html", doc=doc, contact=doc.contact, lines=lines)
            os.makedirs(folder, exist_ok=True)
            tmp = f"{path}.{os.getpid()}"
            weasyprint.HTML(string=html).write_pdf(tmp)
            os.replace(tmp, path)
        with open(path, "rb") as f:
            data = f.read()
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{doc.number}.pdf"', "Cache-Control": "no-store"})
