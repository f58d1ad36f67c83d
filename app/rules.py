"""What every service shares: who acts (By), and how an operation says no (Refused)."""
import json
from dataclasses import dataclass


class Refused(Exception):
    """The operation may not happen now; nothing was written. `code` is for programs (the API
    sends it), `message` for people (the back-office shows it), `field` the input it concerns."""

    def __init__(self, code, message, field=None):
        super().__init__(str(message))
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class By:
    """Who acts: a staff user, an API token, a customer's person, a gateway (its name), or
    nobody (the system). The audit trail (Activity) records it."""
    staff: object = None
    api_token: object = None
    person: object = None
    gateway: str = ""

    def activity(self, detail="", **data):
        """The Activity fields that record this actor, with what changed (`data`, kept as JSON)."""
        fields = {"detail": detail[:400], "data": json.dumps(data, sort_keys=True, default=str) if data else ""}
        if self.api_token is not None:
            fields["api_token"] = self.api_token
        elif self.staff is not None:
            fields["staff"] = self.staff
        elif self.person is not None:
            fields["person"] = self.person
        else:
            fields["actor"] = self.gateway or "system"
        return fields


SYSTEM = By()
