"""Helpers shared by the payment tests: following our step page to the gateway's page, sending
the fake Stripe's webhooks, reading a document again after a payment changed it. (The fixtures,
`stripe_on` and the fakes, come from conftest.)"""
import pytest

from app.models import Document, Payment
from app.rules import By
from tests.conftest import soup
from tests.factories import make_staff


def hosted(me, resp):
    """Follow our step page to the gateway's page: its Refresh header and its link agree."""
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/go"), resp.headers.get("Location")
    page = me.get(resp.headers["Location"])
    link = soup(page).select_one("#go a#continue")["href"]
    assert page.status_code == 200 and page.headers["Refresh"] == f"0;url={link}"
    return link


def sid_of(me, resp):
    """The Stripe Checkout Session id at the end of the hosted page's URL."""
    return hosted(me, resp).rsplit("/", 1)[1]


def send(client, msg):
    """POST a message of the fake Stripe's outbox to our Stripe webhook."""
    return client.post("/webhooks/stripe", data=msg.body, headers=msg.headers)


def reload(doc):
    return Document.get_by_id(doc.id)


def fresh(payment):
    return Payment.get_by_id(payment.id)


@pytest.fixture
def staff_by(app):
    """Who acts in the refund tests: a staff user, inside the request a back-office view has."""
    with app.test_request_context():
        yield By(staff=make_staff())
