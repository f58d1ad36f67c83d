"""Local fakes of the payment providers, driven by their official SDKs in tests.

Their fixtures reach every test module through conftest, which loads this module and
tests.fakes.stripe as plugins:

    def test_pays(app, paypal_fake):
        paypal_fake.webhook_url = live_server_url + "/payments/paypal/webhook"
        ...

Each fixture is a started fake on 127.0.0.1 (a free port), stopped after the test. See
tests/fakes/paypal.py and tests/fakes/square.py for what they serve and their settings.

What the fakes serve and emit is held to the providers' published payloads in tests/fakes/recorded/
(sources in each provider's SOURCES.md) by tests/test_provider_contracts.py.
"""
import pytest

from .paypal import PayPalFake
from .square import SquareFake

__all__ = ["PayPalFake", "SquareFake", "paypal_fake", "square_fake"]


@pytest.fixture
def paypal_fake():
    fake = PayPalFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def square_fake():
    fake = SquareFake().start()
    yield fake
    fake.stop()
