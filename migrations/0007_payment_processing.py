"""Online payments the gateway reports as on their way (a bank debit after checkout: Stripe's
`checkout.session.completed` with `payment_status=unpaid`) note since when, so the customer's
page says "processing" until the gateway's later event settles them, however many days."""
from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("payment", "processing_since", DateTimeField(null=True)))
