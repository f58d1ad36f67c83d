"""The new-password fields shared by the reset page and the profile: one set of messages."""
from flask_babel import gettext as _

from ..passwords import password_problem


def new_password_errors(form):
    """Read new_password and confirm from the form; returns the password or None."""
    password = form.raw("new_password")
    confirm = form.raw("confirm")
    form.values["new_password"] = form.values["confirm"] = ""   # never echoed back
    problem = password_problem(password) if password else "empty"
    if problem:
        form.error("new_password", {
            "empty": _("Enter a new password."),
            "short": _("Use at least 10 characters. A few words you will remember work well."),
            "long": _("That password is too long."),
            "common": _("That password is one of the most common ones. Choose something less easy to guess."),
        }[problem])
    elif password != confirm:
        form.error("confirm", _("The two passwords do not match."))
    return password if form.ok else None
