"""The OpenAPI description tells the truth about the routes: every API rule with its methods
is in it, and it names nothing else."""
import re

from app.api import PREFIX

IGNORED = {"HEAD", "OPTIONS"}


def flask_operations(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(PREFIX):])
            found |= {(path, method.lower()) for method in rule.methods - IGNORED}
    return found


def spec_operations(spec):
    return {(path, method) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_route_is_in_the_spec_and_nothing_else(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    routes, described = flask_operations(app), spec_operations(spec)
    assert routes, "no API routes found"
    assert routes - described == set(), "routes missing from the OpenAPI description"
    assert described - routes == set(), "the OpenAPI description names routes that do not exist"


def test_spec_is_public_and_names_the_server_from_base_url(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["servers"] == [{"url": "http://portal.test/api/v1"}]
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []


def test_every_reference_resolves_and_operation_ids_are_unique(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    text = str(spec)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in spec["components"]["schemas"], name
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_path_parameters_match_the_route_variables(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, declared)


def test_spec_validates_as_openapi_3_1(client):
    import schemathesis
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(spec)
    assert len(list(schema.get_all_operations())) == sum(len(item) for item in spec["paths"].values())


def test_every_webhook_event_is_described(client):
    from app.models import WEBHOOK_EVENTS
    spec = client.get("/api/v1/openapi.json").get_json()
    assert sorted(spec["webhooks"]) == sorted(WEBHOOK_EVENTS)
    for event, item in spec["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["type"] == {"const": event} and body["properties"]["data"]["required"]


def test_spec_is_valid_against_the_openapi_3_1_schema(client):
    import jsonschema_rs
    from schemathesis.specs.openapi.definitions import OPENAPI_31
    spec = client.get("/api/v1/openapi.json").get_json()
    assert [e.message for e in jsonschema_rs.validator_for(OPENAPI_31).iter_errors(spec)] == []
