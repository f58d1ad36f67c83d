"""Who may reach which back-office area: the one place staff roles are enforced.

require_staff (app/views/staff/__init__.py) looks the request up here: first its endpoint (for
the few views that belong to another area than their blueprint), then its blueprint. A staff
blueprint missing from AREAS is refused to everyone but owners, so a new area is closed until
someone decides who it is for (tests/test_staff_security.py fails until then). To open an area,
add one line: `"staff.<blueprint name>": {roles}`. (staff.auth, the sign-in pages, is the one
blueprint without require_staff: it serves people who are not signed in yet.)"""
from flask_babel import lazy_gettext as _l

OWNER, ACCOUNTANT, SALES = "owner", "accountant", "sales"
EVERYONE = frozenset({OWNER, ACCOUNTANT, SALES})
MONEY = frozenset({OWNER, ACCOUNTANT})
SELLING = frozenset({OWNER, SALES})
OWNERS = frozenset({OWNER})

AREAS = {
    "staff.account": EVERYONE,          # one's own password, two-factor and passkeys
    # Both need to look a customer up: accountants invoice them, sales sell to them.
    "staff.contacts": EVERYONE,
    # A customer's account as a whole: whoever deals with the customer reads it and mails it.
    "staff.statements": EVERYONE,
    "staff.access": SELLING,            # customers' portal credentials: the people who deal with them
    "staff.accountant_links": SELLING,  # their accountants' read-only links, a credential too
    # Invoices, quotes and orders share one blueprint: accountants work on invoices, sales on
    # quotes and orders, and each sees the other's documents (a quote becomes an invoice).
    # Recording a payment is money: see ENDPOINTS.
    "staff.documents": EVERYONE,
    "staff.pdf": EVERYONE,
    # Credit notes, reversals and refunds correct money: the accountant's.
    "staff.credit_notes": MONEY,
    "staff.corrections": MONEY,
    # Customers ask about invoices as much as about quotes: both answer.
    "staff.comments": EVERYONE,
    "staff.catalog": SELLING,
    "staff.categories": SELLING,
    "staff.taxes": MONEY,               # tax rates are the accountant's to keep right
    # gateways.py serves the gateways' keys (owner only) and the payments list (see ENDPOINTS).
    "staff.gateways": OWNERS,
    "staff.settings": OWNERS,
    "staff.numbering": OWNERS,          # number series are part of the business's settings
    "staff.jobs": OWNERS,
    "staff.api_tokens": OWNERS,
    "staff.webhooks": OWNERS,
    "staff.team": OWNERS,
    # The exports page: each export is open to whoever may read what it holds (EXPORTS).
    "staff.exports": EVERYONE,
    # Reminding customers of what they owe is money; the schedule is a setting (ENDPOINTS).
    "staff.reminders": MONEY,
}

# Views that belong to another area than the rest of their blueprint.
ENDPOINTS = {
    "staff.documents.record_payment": MONEY,
    "staff.gateways.payment_list": MONEY,
    "staff.gateways.payment": MONEY,
    "staff.gateways.resolve": MONEY,
    "staff.reminders.save_settings": OWNERS,
}


# What each CSV export of staff.exports holds: documents are everyone's to read, payments and
# the tax book are money.
EXPORTS = {"documents": EVERYONE, "payments": MONEY, "tax_book": MONEY}


def may_export(role, what):
    """May a staff user of `role` download the export `what`? (unknown exports: owners only)"""
    return role in EXPORTS.get(what, OWNERS)


def allowed(role, endpoint, blueprint):
    """May a staff user of `role` reach `endpoint` (of `blueprint`)?"""
    roles = ENDPOINTS.get(endpoint) or AREAS.get(blueprint) or OWNERS
    return role in roles


# Where each role lands after sign-in: the first area it may reach.
HOME = {OWNER: "staff.contacts.index", ACCOUNTANT: "staff.documents.index", SALES: "staff.contacts.index"}

ROLE_LABELS = {OWNER: _l("Owner"), ACCOUNTANT: _l("Accountant"), SALES: _l("Sales")}
