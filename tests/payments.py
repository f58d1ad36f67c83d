"""Helpers shared by the payment tests: following our step page to the gateway's page, sending
the fake Stripe's webhooks, reading a document again after a payment changed it. (The fixtures,
`stripe_on` and the fakes, come from conftest.)"""
from app.models import Document
from tests.conftest import soup


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
