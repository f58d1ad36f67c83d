"""Reading API input with the models of app/api/schemas.py: a JSON body (422 with one message
per field, `lines[0].unit_price` for a line's), a query string (400 naming the parameter), what
a schema cannot say (409: an id that names nothing, a date before another), and cursor pages."""
import json
import typing

from flask import request
from pydantic import RootModel, ValidationError

from .errors import ApiError
from .fields import MAX_ID, encode_cursor
from .schemas import FIELD_MESSAGES, TOTALS

DEFAULT_PAGE = 50
REQUIRED = "This field is required."

# pydantic's own error types, in the API's words; errors of our types carry their message.
MESSAGES = {
    "int_type": "Must be an integer.", "int_from_float": "Must be an integer.",
    "float_type": "Must be a number.", "bool_type": "Must be true or false.",
    "string_type": "Must be a string.", "list_type": "Must be a list.",
    "model_type": "Must be an object.", "model_attributes_type": "Must be an object.",
    "dict_type": "Must be an object.", "literal_error": "Must be one of: {expected}.",
    "greater_than_equal": "Must be at least {ge}.", "less_than_equal": "Must be at most {le}.",
    "greater_than": "Must be greater than {gt}.", "string_too_long": "Use at most {max_length} characters.",
    "too_long": "Send at most {max_length} items.", "too_short": "Send at least {min_length} items.",
}


def json_body():
    """The request's JSON object; 400 when the body is not one."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


def read_body(model, data=None):
    """The request's JSON object validated by `model` (a schemas.Body, or a RootModel whose root
    is a union of them told apart by a field); 422 with every field that is not valid."""
    data = json_body() if data is None else data
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "Some fields are not valid.",
                       _body_fields(model, data, exc)) from None
    return result.root if isinstance(result, RootModel) else result


def read_query(model):
    """The query string validated by `model`; 400 naming each parameter that is not valid."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        fields = {}
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            fields.setdefault(name, "Unknown parameter." if error["type"] == "extra_forbidden"
                              else _message(error, error["loc"]))
        raise ApiError(400, "invalid_parameter", "Some query parameters are not valid.", fields) from None


def _tagged(model):
    """(field, {tag: member model}) for a RootModel over a tagged union, else (None, {})."""
    if not issubclass(model, RootModel):
        return None, {}
    root = model.model_fields["root"]
    return root.discriminator, {typing.get_args(member.model_fields[root.discriminator].annotation)[0]: member
                                for member in typing.get_args(root.annotation)}


def _body_fields(model, data, exc):
    tag, members = _tagged(model)
    fields = {}
    for error in exc.errors(include_url=False):
        loc, kind = error["loc"], error["type"]
        if kind.startswith("union_tag_"):
            fields.setdefault(tag, REQUIRED if data.get(tag) is None
                              else "Must be one of: " + ", ".join(members) + ".")
            continue
        top = model
        if tag:   # the member's tag leads the location: ("invoice", "lines", 0, ...)
            top, loc = members[loc[0]], loc[1:]
        if kind == "required_fields":   # a check on an object, about some of its fields
            for name in error["ctx"]["fields"].split(","):
                fields.setdefault(path(loc + (name,)), error["msg"])
        elif kind == "extra_forbidden":
            name = loc[-1]
            fields.setdefault(path(loc), "Totals are computed by the server; do not send them."
                              if name in TOTALS else top.refused.get(name, "Unknown field.")
                              if len(loc) == 1 else "Unknown field.")
        else:
            fields.setdefault(path(loc), _message(error, loc))
    return fields


def path(loc):
    """("lines", 0, "unit_price") -> "lines[0].unit_price"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _message(error, loc):
    kind, context = error["type"], error.get("ctx") or {}
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if (name, kind) in FIELD_MESSAGES:
        return FIELD_MESSAGES[name, kind]
    if kind == "missing" or error.get("input", "") is None:
        return REQUIRED
    if kind in MESSAGES:
        return MESSAGES[kind].format(**context)
    return error["msg"]


# --- what a schema cannot say -----------------------------------------------------------------

class Conflicts:
    """Refusals of a valid body for what no schema can say: an id that names nothing, a date
    before another. The answer is a 409 with the code of the first kind of refusal met and one
    message per field refused that way (others show once those are fixed)."""

    def __init__(self):
        self.code, self.fields = None, {}

    def add(self, code, field, message):
        if self.code in (None, code):
            self.code = code
            self.fields.setdefault(field, message)

    def row(self, model, row_id, field, what, where=None):
        """The row with this id (and `where`), or None and an unknown_reference refusal."""
        if row_id is None:
            return None
        query = model.select().where(model.id == row_id)
        row = (query.where(where) if where is not None else query).first()
        if row is None:
            self.add("unknown_reference", field, f"No {what} has this id.")
        return row

    def check(self):
        if self.fields:
            raise ApiError(409, self.code, next(iter(self.fields.values())), self.fields)


# --- reading rows -----------------------------------------------------------------------------

def fetch(model, row_id, what):
    """The row with this id, or a 404 naming what was looked for."""
    row = model.get_or_none(model.id == row_id) if 0 < row_id <= MAX_ID else None
    if row is None:
        raise ApiError(404, "not_found", f"No such {what}.")
    return row


def page(query, id_field, serialize, params):
    """One page of `query`, newest first, after params.cursor: {"data", "next_cursor"}.

    The cursor is the last id seen: keyset pagination never skips or repeats a row when rows
    are added meanwhile, unlike offsets."""
    limit = params.limit or DEFAULT_PAGE
    if params.cursor is not None:
        query = query.where(id_field < params.cursor)
    rows = list(query.order_by(id_field.desc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": [serialize(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more else None}
