"""Schemathesis (property-based, from the OpenAPI description) against the app in-process:
valid and invalid requests to every operation, with a valid token. No answer may be a server
error, break the response schema, or use a status code the description does not list.

Bounded to stay quick in `make test`: a few examples per operation and mode, no deadline,
derandomized so that a failure reproduces. (schemathesis.pytest.from_fixture does not run on
pytest 9, so each operation is its own parametrized test driving Hypothesis directly.)"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.api.auth import create_token
from app.api.openapi import _paths
from tests.factories import make_category, make_document, make_person, make_product, make_tax

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
OPERATIONS = [(method.upper(), path) for path, item in _paths().items() for method in item]
# An operation with nothing to send has no invalid request to make.
NO_INPUT = {("GET", "/openapi.json")}
CASES = [(method, path, mode) for method, path in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE or (method, path) not in NO_INPUT]
EXAMPLES = 10


@pytest.fixture
def api_token(app):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    return create_token("Schemathesis")[0]


@pytest.fixture
def api_schema(app, api_token):
    """The app's own description, with a few rows so that small ids name something."""
    tax = make_tax()
    person = make_person()
    make_document(person.contact, kind="invoice", status="open")
    make_document(person.contact, kind="quote", status="draft")
    make_document(person.contact, kind="order", status="open")
    make_product(category=make_category(), taxes=[(tax.name, tax.rate_bp)])
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("method, path, mode", CASES, ids=[f"{m} {p} {mode}" for m, p, mode in CASES])
def test_api_conforms_to_its_description(api_schema, api_token, method, path, mode):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {api_token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    check()
