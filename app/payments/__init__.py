"""Online payments: the small interface each gateway implements, and the registry that says
which gateways the business has configured and which of them a contact may use.

A gateway (stripe_gw, paypal_gw, square_gw) knows how to
- `create_checkout(payment, description, return_url, cancel_url)`: start its hosted page for a
  Payment row, sending the row's idempotency key, so a retried or doubled call makes one;
- `parse_webhook(body, headers, url)`: verify a webhook (InvalidWebhook when it is not
  genuine) and say what it reports, as an Event carrying an Outcome;
- `fetch(payment)`: ask for its own object: the server-side confirmation used when the person
  returns and by the reconcile command;
- `refund(payment, refund)`: give back `refund.amount` of a captured payment, sending the
  Refund row's idempotency key; answers a RefundOutcome.
What a gateway reports is an Outcome (a checkout) or a RefundOutcome (money given back: a
refund, a dispute, a chargeback); app/payments/service.py and app/refunds.py decide what they
do to our rows.

Keys are entered once by staff (models.GatewayConfig, one set for test and one for live) and
environment variables override them (STRIPE_SECRET_KEY...; STRIPE_MODE fixes the mode).
They are never logged, and the back-office shows only their last characters.
"""
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from flask import current_app

from .. import unit

MODES = ("test", "live")
PAID, PENDING, FAILED, CANCELLED, APPROVED = "paid", "pending", "failed", "cancelled", "approved"
# The customer finished the checkout and the money is on its way (a bank debit): not paid yet.
PROCESSING = "processing"
# The payer's card or bank declined at capture; PayPal says to send them back to choose another.
RETRY = "retry"

_MODULES = {"stripe": "stripe_gw", "paypal": "paypal_gw", "square": "square_gw"}
NAMES = tuple(_MODULES)


class InvalidWebhook(Exception):
    """A webhook whose signature does not verify (or that cannot be read): answered with 400."""


class GatewayError(Exception):
    """The gateway refused a call or did not answer; the message is safe to log (no keys).
    `issue`: the gateway's own error code when it gave one (PayPal's INSTRUMENT_DECLINED)."""

    def __init__(self, message, issue=""):
        super().__init__(message)
        self.issue = issue


@dataclass
class Field:
    """One credential a gateway needs."""
    name: str
    label: object
    secret: bool = False
    env: str = ""
    pattern: str = r"[\x21-\x7e]{1,300}"   # printable, no spaces: keys are pasted


@dataclass
class Outcome:
    """What a gateway says about one checkout."""
    ref: str                   # the checkout's id at the gateway: Payment.provider_ref
    status: str                # PAID, PENDING, PROCESSING, FAILED, CANCELLED, APPROVED (PayPal: capture it)
    amount: int = None         # minor units, as the gateway reports them
    currency: str = ""
    payment_ref: str = ""      # the money movement: payment intent, capture, Square payment
    claims: dict = field(default_factory=dict)   # what the object says it pays for (our metadata)


REFUND, DISPUTE_OPENED, DISPUTE_WON, CHARGEBACK = "refund", "dispute_opened", "dispute_won", "chargeback"


@dataclass
class RefundOutcome:
    """What a gateway says about money given back on one of our payments."""
    kind: str                  # REFUND, DISPUTE_OPENED, DISPUTE_WON, CHARGEBACK (money taken back)
    ref: str                   # the gateway's refund, dispute or reversal id
    payment_ref: str           # finds our Payment: its provider_payment_ref (or provider_ref)
    status: str = PAID         # refunds: PAID (done), PENDING, FAILED
    amount: int = None         # minor units
    currency: str = ""
    reason: str = ""


@dataclass
class Event:
    """A verified webhook."""
    id: str
    kind: str
    payload: str
    outcome: Outcome = None    # None: an event we do not act on
    refund: RefundOutcome = None


@dataclass
class Checkout:
    ref: str
    url: str


class Gateway(ABC):
    """The interface; one instance per (gateway, mode) with that mode's credentials."""
    name = ""
    label = ""
    fields = ()

    def __init__(self, credentials, mode, config):
        self.credentials, self.mode, self.config = credentials, mode, config

    @classmethod
    def is_complete(cls, credentials):
        return all(credentials.get(f.name) for f in cls.fields)

    @abstractmethod
    def create_checkout(self, payment, description, return_url, cancel_url):
        """Each gateway module implements this."""

    @abstractmethod
    def parse_webhook(self, body, headers, url):
        """Each gateway module implements this."""

    @abstractmethod
    def fetch(self, payment):
        """Each gateway module implements this."""

    def refund(self, payment, refund):
        """Give back refund.amount of the payment; a gateway that cannot says so."""
        raise GatewayError(f"{self.name} refunds are not supported")

    def resolve(self, outcome):
        """Our payment id for an outcome naming a checkout we have no reference for, or None
        (only Square, whose payments may name an order other than the link's)."""
        return None

    def recent(self, since):
        """Outcomes of the checkouts or payments made since `since` (naive UTC), for reconcile;
        a gateway with no such list (PayPal) returns none."""
        return []


def payment_claims(payment):
    """What a checkout is for, as strings (the gateways' metadata holds strings only); checked
    against the payment when the gateway reports it paid (service.mismatch)."""
    docs = ",".join(str(share.document_id) for share in payment.shares())
    return {"payment": str(payment.id), "documents": docs, "contact": str(payment.document.contact_id)}


def gateway_class(name):
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return module.GATEWAY


def label(name):
    return gateway_class(name).label


# --- configuration --------------------------------------------------------------------------

def _stored():
    """{name: GatewayConfig} for this unit of work (one query however often it is asked)."""
    from ..models import GatewayConfig
    return unit.remember("gateway_configs", lambda: {row.gateway: row for row in GatewayConfig.select()})


def forget_cached():
    unit.forget("gateway_configs")


def env_mode(name):
    mode = current_app.config.get(f"{name.upper()}_MODE", "")
    return mode if mode in MODES else ""


def current_mode(name):
    row = _stored().get(name)
    return env_mode(name) or (row.mode if row else "test")


def env_credentials(name):
    config = current_app.config
    return {f.name: config.get(f.env, "") for f in gateway_class(name).fields if config.get(f.env)}


def credentials(name, mode):
    """Stored keys of that mode, with the environment's on top for the current mode."""
    row = _stored().get(name)
    creds = row.credentials(mode) if row else {}
    if mode == current_mode(name):
        creds.update(env_credentials(name))
    return creds


def get(name, mode=None):
    """The gateway with the credentials of `mode` (the current one by default), or None when
    those are incomplete."""
    if name not in _MODULES:
        return None
    mode = mode or current_mode(name)
    creds = credentials(name, mode)
    cls = gateway_class(name)
    if not cls.is_complete(creds):
        return None
    return cls(creds, mode, current_app.config)


def every_mode(name):
    """The gateway in each mode that has complete keys, current mode first: a webhook may
    concern a payment made before staff switched from test to live."""
    current = current_mode(name)
    found = []
    for mode in sorted(MODES, key=lambda m: m != current):
        gateway = get(name, mode)
        if gateway is not None:
            found.append(gateway)
    return found


def configured(name):
    return get(name) is not None


def methods_for(contact):
    """The gateways this contact may use: enabled for it and configured for the business."""
    return [name for name in contact.gateway_list if name in _MODULES and configured(name)]


def mask(value):
    """A stored secret as staff see it again: its last four characters."""
    if not value:
        return ""
    return "…" + value[-4:] if len(value) > 8 else "…"
