"""Translated names for statuses and kinds, shared by the portal, the back-office and PDFs."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {"invoice": _l("Invoice"), "quote": _l("Quote"), "order": _l("Sales order"),
               "credit_note": _l("Credit note")}
KIND_PLURALS = {"invoice": _l("Invoices"), "quote": _l("Quotes"), "order": _l("Sales orders"),
                "credit_note": _l("Credit notes")}

STATUS_LABELS = {
    "draft": _l("Draft"), "paid": _l("Paid"), "void": _l("Void"), "accepted": _l("Accepted"),
    "declined": _l("Declined"), "confirmed": _l("Confirmed"), "shipped": _l("Shipped"),
    "delivered": _l("Delivered"), "cancelled": _l("Cancelled"), "overdue": _l("Overdue"),
    "expired": _l("Expired"), "issued": _l("Issued"), "credited": _l("Credited"),
}
OPEN_LABELS = {"invoice": _l("Pending payment"), "quote": _l("Awaiting approval"),
               "order": _l("Placed")}
TRANSITION_LABELS = {"open": _l("Issue"), "void": _l("Void"), "confirmed": _l("Confirm"),
                     "shipped": _l("Mark shipped"), "delivered": _l("Mark delivered"),
                     "cancelled": _l("Cancel order")}


def status_label(doc):
    if doc.is_overdue:
        return STATUS_LABELS["overdue"]
    if doc.is_expired:
        return STATUS_LABELS["expired"]
    if doc.status == "open":
        if doc.kind == "invoice" and doc.amount_paid:
            return _l("Partly paid")
        return OPEN_LABELS[doc.kind]
    return STATUS_LABELS.get(doc.status, doc.status)


def init_app(app):
    app.jinja_env.globals.update(status_label=status_label, KIND_LABELS=KIND_LABELS,
                                 KIND_PLURALS=KIND_PLURALS, TRANSITION_LABELS=TRANSITION_LABELS,
                                 STATUS_FILTER_LABELS=STATUS_FILTER_LABELS, ACTIVITY_LABELS=ACTIVITY_LABELS,
                                 AUDIT_LABELS=AUDIT_LABELS, log_label=log_label,
                                 STATUS_LABELS_ALL=STATUS_LABELS)


# The status filter of each portal list, in the customer's words.
STATUS_FILTER_LABELS = {
    "invoice": {"open": _l("Pending payment"), "overdue": _l("Overdue"), "paid": _l("Paid"), "credited": _l("Credited"),
                "void": _l("Void"), "credit_note": _l("Credit notes")},
    "quote": {"open": _l("Awaiting approval"), "expired": _l("Expired"), "accepted": _l("Accepted"),
              "declined": _l("Declined"), "void": _l("Void")},
    "order": {"open": _l("Placed"), "confirmed": _l("Confirmed"), "shipped": _l("Shipped"),
              "delivered": _l("Delivered"), "cancelled": _l("Cancelled")},
}

# What the summary's recent activity says about a document.
ACTIVITY_LABELS = {
    "status_open": _l("issued"), "payment_manual": _l("payment received"),
    "payment_succeeded": _l("paid online"), "comment": _l("new comment"),
    "quote_accepted": _l("quote accepted"), "quote_declined": _l("quote declined"),
    "order_placed": _l("order placed"), "credit_note_issued": _l("credit note issued"),
    "payment_reversed": _l("payment reversed"), "refund_succeeded": _l("refunded"),
}

# The audit trail of a document (staff page, API), in staff's words.
AUDIT_LABELS = {
    "status_open": _l("Issued"), "status_issued": _l("Issued"), "status_void": _l("Voided"),
    "status_confirmed": _l("Confirmed"), "status_shipped": _l("Marked shipped"),
    "status_delivered": _l("Marked delivered"), "status_cancelled": _l("Cancelled"),
    "credit_note_issued": _l("Credit note issued"), "payment_manual": _l("Payment recorded"),
    "payment_succeeded": _l("Paid online"), "payment_reversed": _l("Payment reversed"),
    "refund_requested": _l("Refund requested"), "refund_succeeded": _l("Refunded"),
    "refund_failed": _l("Refund failed"), "chargeback": _l("Chargeback"),
    "dispute_opened": _l("Payment disputed"), "dispute_closed": _l("Dispute closed"),
    "quote_accepted": _l("Quote accepted"), "quote_declined": _l("Quote declined"),
    "order_placed": _l("Order placed"),
}

# The rest of the activity log as staff read it on a contact's or a document's page.
LOG_LABELS = {
    "viewed": _l("Viewed"), "downloaded": _l("Downloaded"), "comment": _l("Comment"),
    "login": _l("Signed in"), "login_link": _l("Signed in with a link"),
    "login_passkey": _l("Signed in with a passkey"), "access_link_created": _l("Access link created"),
    "access_link_sent": _l("Access link sent"), "password_changed": _l("Password changed"),
    "password_reset": _l("Password reset"), "password_reset_forced": _l("Password reset forced"),
    "signed_out_everywhere": _l("Signed out everywhere"), "device_signed_out": _l("Signed out a device"),
    "devices_signed_out": _l("Signed out every other device"), "portal_on": _l("Portal access on"),
    "portal_off": _l("Portal access off"), "passkey_added": _l("Passkey added"),
    "passkey_removed": _l("Passkey removed"), "passkey_refused": _l("Passkey refused"),
    "totp_on": _l("Authenticator app on"), "totp_off": _l("Authenticator app off"),
    "second_factor_cleared": _l("Second factor turned off by staff"),
    "team_invited": _l("Colleague invited"), "team_joined": _l("Joined the team"),
    "team_role": _l("Role changed"), "team_removed": _l("Removed from the team"),
    "accountant_link_given": _l("Accountant link given"), "accountant_link_revoked": _l("Accountant link revoked"),
    "statement_mailed": _l("Statement mailed"),
}


def log_label(action):
    """An activity row's action in staff's words (the code itself for one not named here)."""
    return AUDIT_LABELS.get(action) or LOG_LABELS.get(action) or action
