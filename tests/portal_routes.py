"""The portal's routes, for tests that walk them all (scope, query budget)."""
from app.views import GUARDS

NOT_PORTAL = ("/staff", "/api/v1", "/static")


def portal_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if not r.rule.startswith(NOT_PORTAL)),
                  key=lambda r: (r.rule, r.endpoint))


def behind_portal_factory(app, endpoint):
    """Whether a portal_blueprint() guard runs before this endpoint (its blueprint or a parent's)."""
    names, blueprint = [], endpoint.rpartition(".")[0]
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return any(f in GUARDS for name in names for f in app.before_request_funcs.get(name, ()))
