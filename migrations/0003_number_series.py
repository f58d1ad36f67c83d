"""Numbering series: a row per (kind, series code, year) with the next number, given on issue.

Drafts lose the number they took when created (they get one when issued), so the unique index
on (kind, number) now covers given numbers only. Each existing series starts after the highest
number already given in it."""
import re

from peewee import *


def up(migrator, db):
    class NumberSeries(Model):
        kind = CharField(max_length=12)
        code = CharField(max_length=20)
        year = IntegerField()
        pattern = CharField(max_length=60, default="{code}-{year}-{n:04d}")
        next_n = IntegerField(default=1, constraints=[SQL("CHECK (next_n >= 1)")])
        last_used = IntegerField(default=0, constraints=[SQL("CHECK (last_used >= 0 AND last_used < next_n)")])

        class Meta:
            database = db
            table_name = "number_series"
            indexes = ((("kind", "code", "year"), True),)
    db.create_tables([NumberSeries])

    migrator.migrate(migrator.drop_index("document", "document_kind_number"))
    db.execute_sql("UPDATE document SET number = '' WHERE status = 'draft'")
    db.execute_sql("CREATE UNIQUE INDEX document_kind_number ON document (kind, number) WHERE (number != '')")

    prefixes = {"invoice": "F", "quote": "P", "order": "SO"}
    row = db.execute_sql("SELECT invoice_prefix, quote_prefix, order_prefix FROM settings WHERE id = 1").fetchone()
    if row:
        prefixes = dict(zip(("invoice", "quote", "order"), row))
    highest = {}
    for kind, code in prefixes.items():
        shape = re.compile(re.escape(code) + r"-(\d{4})-(\d+)$")
        cursor = db.execute_sql("SELECT number FROM document WHERE kind = %s AND number != ''"
                                % db.param, (kind,))
        for (number,) in cursor.fetchall():
            match = shape.match(number)
            if match:
                key = (kind, code, int(match.group(1)))
                highest[key] = max(highest.get(key, 0), int(match.group(2)))
    for (kind, code, year), n in sorted(highest.items()):
        NumberSeries.create(kind=kind, code=code, year=year, next_n=n + 1, last_used=n)
