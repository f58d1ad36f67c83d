"""E-invoices and trust (issue 20).
- E-invoices need what free-text addresses do not say: the business's and each contact's
  country (ISO 3166-1 alpha-2; EN 16931 requires both), and the business's bank account (IBAN,
  BIC), printed on documents and given to buyers' software as the payment means.
- When the bank details last changed, for the notice customers see for 60 days afterwards.
- Each issued invoice's "verify this invoice" code (128 random bits, unique), given when first
  needed: filling a million rows here would hold an upgrade for minutes.
Empty by default: a business fills them in its settings (the demo data does)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("settings", "country", CharField(max_length=2, default="")),
        migrator.add_column("settings", "iban", CharField(max_length=34, default="")),
        migrator.add_column("settings", "bic", CharField(max_length=11, default="")),
        migrator.add_column("settings", "bank_changed_at", DateTimeField(null=True)),
        migrator.add_column("contact", "country", CharField(max_length=2, default="")),
        migrator.add_column("document", "verify_code", CharField(max_length=32, null=True)),
        migrator.add_index("document", ("verify_code",), True),
    )
