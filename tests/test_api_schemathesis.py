"""Schemathesis (property-based, from the OpenAPI description) against the app in-process:
valid and invalid requests to every operation, with a valid token. No answer may be a server
error, break the response schema, or use a status code the description does not list; and a
request the description allows may not be refused as malformed (positive_data_acceptance: a
400 or 422 to one means the description and the server disagree).

Bounded to stay quick in `make test`: a few examples per operation and mode, no deadline,
derandomized so that a failure reproduces; API_FUZZ_EXAMPLES=200 API_FUZZ_SEED=1 digs deeper.
(schemathesis.pytest.from_fixture does not run on pytest 9, so each operation is its own
parametrized test driving Hypothesis directly.)"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (positive_data_acceptance, response_schema_conformance,
                                             status_code_conformance)

from app.api.auth import create_token
from app.api.openapi import _paths
from app.models import Payment
from tests.factories import make_category, make_document, make_person, make_product, make_tax

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, positive_data_acceptance]
OPERATIONS = [(method.upper(), path) for path, item in _paths().items() for method in item]
# An operation with nothing to send has no invalid request to make.
NO_INPUT = {("GET", "/openapi.json")}
CASES = [(method, path, mode) for method, path in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE or (method, path) not in NO_INPUT]
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", 25))
SEED = os.environ.get("API_FUZZ_SEED")   # unset: derandomized


@pytest.fixture
def api_schema(app):
    """The app's own description, with a few rows so that small ids name something."""
    tax = make_tax()
    person = make_person()
    invoice = make_document(person.contact, kind="invoice", status="open")
    # Payments to reverse and refund: a manual one and an online one.
    for gateway in ("manual", "stripe"):
        Payment.create(document=invoice, gateway=gateway, amount=100, currency="EUR", status="succeeded",
                       idempotency_key=f"fuzz-{gateway}")
    make_document(person.contact, kind="quote", status="draft")
    make_document(person.contact, kind="order", status="open")
    make_product(category=make_category(), taxes=[(tax.name, tax.rate_bp)])
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("method, path, mode", CASES, ids=[f"{m} {p} {mode}" for m, p, mode in CASES])
def test_api_conforms_to_its_description(app, api_schema, method, path, mode):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        # A client of its own for each request: Idempotency-Keys are per token, and one drawn
        # again for another body is refused by design (a 422, as the IETF draft says).
        token = create_token("Schemathesis")[0]
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)

    (seed(int(SEED))(check) if SEED else check)()
