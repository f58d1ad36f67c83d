"""What every service shares: who acts (By), and how an operation says no (Refused)."""
from dataclasses import dataclass


class Refused(Exception):
    """The operation may not happen now; nothing was written. `code` is for programs (the API
    sends it), `message` for people (the back-office shows it), `field` the input it concerns."""

    def __init__(self, code, message, field=None):
        super().__init__(str(message))
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class By:
    """Who acts: a staff user, an API token, or nobody (the system)."""
    staff: object = None
    api_token: object = None

    def activity(self, detail=""):
        """The Activity fields that record this actor."""
        if self.api_token is not None:
            return {"detail": f"API: {detail}" if detail else "API"}
        return {"staff": self.staff, "detail": detail}
