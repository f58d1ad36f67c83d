"""Issued documents are frozen: a snapshot column with what each showed when issued, and every
logo kept by hash. Documents issued before this migration get their snapshot from today's data
(the best record there is), built by app/snapshot.py's own rules."""
import hashlib
import json

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("document", "snapshot", TextField(null=True)))

    class LogoVersion(Model):
        hash = CharField(max_length=64, unique=True)
        data = BlobField()
        content_type = CharField(max_length=40)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "logo_version"
    db.create_tables([LogoVersion])

    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    logo = db.execute_sql("SELECT logo, logo_type FROM settings WHERE id = 1").fetchone()
    if logo and logo[0]:
        data = bytes(logo[0])
        LogoVersion.create(hash=hashlib.sha256(data).hexdigest(), data=data, content_type=logo[1], created_at=now)

    from app import money   # the rounding rule: the same totals the app computes
    business_fields = ("name", "tax_id", "address", "email", "phone", "website", "logo_hash")
    row = db.execute_sql("SELECT %s FROM settings WHERE id = 1" % ", ".join(business_fields)).fetchone()
    business = {name: (value or "") for name, value in zip(business_fields, row)} if row else \
        {name: "" for name in business_fields}
    p = db.param
    docs = db.execute_sql("SELECT d.id, c.name, c.tax_id, c.billing_address FROM document d "
                          "JOIN contact c ON c.id = d.contact_id WHERE d.status != 'draft'").fetchall()
    for doc_id, name, tax_id, address in docs:
        lines = []
        for line_id, desc, qty, price, disc, net in db.execute_sql(
                "SELECT id, description, qty_milli, unit_price, discount_bp, net FROM document_line "
                f"WHERE document_id = {p} ORDER BY position", (doc_id,)).fetchall():
            taxes = [[n, r] for n, r in db.execute_sql(
                f"SELECT name, rate_bp FROM line_tax WHERE line_id = {p} ORDER BY id", (line_id,)).fetchall()]
            lines.append({"description": desc, "qty_milli": qty, "unit_price": price, "discount_bp": disc,
                          "net": net, "taxes": taxes})
        totals = money.compute_totals([(x["qty_milli"], x["unit_price"], x["discount_bp"],
                                        [tuple(t) for t in x["taxes"]]) for x in lines])
        snapshot = {"version": 1, "business": business,
                    "contact": {"name": name or "", "tax_id": tax_id or "", "billing_address": address or ""},
                    "lines": lines,
                    "totals": {"subtotal": totals["subtotal"], "tax_total": totals["tax_total"],
                               "total": totals["total"], "taxes": [list(t) for t in totals["taxes"]]}}
        db.execute_sql(f"UPDATE document SET snapshot = {p} WHERE id = {p}",
                       (json.dumps(snapshot, sort_keys=True, ensure_ascii=False), doc_id))
