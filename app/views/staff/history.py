"""The audit trail of a document as the back-office shows it: who acted, when, what changed.

Activity.trail() has the rows; this turns each row's JSON `data` into the few facts a person
reads (an amount, a reason, the status and amounts afterwards), newest first. Formatting
(money, dates, labels) is the template's."""
import json

from flask_babel import lazy_gettext as _l

from ...models import Activity
from ...payments import NAMES as GATEWAYS

WHO_KINDS = {"staff": _l("Staff"), "api": _l("API token"), "person": _l("Customer"),
             "gateway": _l("Gateway"), "system": _l("System")}


def _who(entry):
    """(kind, name) of whoever acted. A deleted user or token keeps its kind."""
    if entry.staff_id:
        return "staff", entry.staff.name if entry.staff else ""
    if entry.api_token_id:
        return "api", entry.api_token.name if entry.api_token else ""
    if entry.person_id:
        return "person", entry.person.name if entry.person else ""
    if entry.actor in GATEWAYS:
        return "gateway", entry.actor.capitalize()
    return "system", ""


def _data(entry):
    try:
        data = json.loads(entry.data) if entry.data else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def trail(document):
    """The document's audit trail, newest first, as dicts for staff/documents/show.html."""
    rows = []
    for entry in Activity.trail(document).order_by(Activity.created_at.desc(), Activity.id.desc()):
        kind, name = _who(entry)
        data = _data(entry)
        rows.append({"id": entry.id, "at": entry.created_at, "action": entry.action, "who_kind": WHO_KINDS[kind],
                     "who": name, "detail": entry.detail if not data else "",
                     "amount": data.get("amount") if isinstance(data.get("amount"), int) else None,
                     "reason": data.get("reason") or "",
                     "number": data.get("number") or "" if entry.action == "credit_note_issued" else "",
                     "credit_note": data.get("credit_note") if entry.action == "credit_note_issued" else None,
                     "status": data.get("status") or "",
                     "amount_paid": data.get("amount_paid"), "amount_credited": data.get("amount_credited")})
    return rows
