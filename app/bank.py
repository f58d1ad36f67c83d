"""The business's bank account: the IBAN and BIC printed on documents and in e-invoices, the
account customers pay transfers to. Checked when typed (ISO 13616 and ISO 9362 through
python-stdnum), and changed only by an owner who proves it is them again (app/views/staff/bank.py):
a changed IBAN is the most common invoice fraud there is."""
import datetime
import json
import re

from flask_babel import lazy_gettext as _l
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from .db import db
from .links import external_url
from .mail import recipient_language, send_template
from .models import Activity, Contact, Document, Person, Settings
from .people import PAYERS   # bank details changed: to whoever pays
from .passwords import verify_password
from .rules import Refused
from .staff_accounts import check_totp

NOTICE_DAYS = 60
# Something shaped like an IBAN inside free text: a country code, two check digits, then letters
# and digits, maybe in groups of four.
IBAN_IN_TEXT = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}")


def clean_iban(text):
    """The IBAN as stored (upper case, no spaces), or ValueError with what is wrong."""
    try:
        return stdnum_iban.validate(text or "")
    except ValidationError as why:
        raise ValueError(str(why)) from None


def clean_bic(text):
    try:
        return stdnum_bic.validate(text or "")
    except ValidationError as why:
        raise ValueError(str(why)) from None


def format_iban(iban):
    """In groups of four, as people read and type it."""
    return stdnum_iban.format(iban) if iban else ""


def current_iban():
    return Settings.get_solo().iban


def notice_date(settings=None, now=None):
    """The day the bank details changed while customers are still told about it, else None."""
    settings = settings or Settings.get_solo()
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    changed = settings.bank_changed_at
    if changed and now - changed < datetime.timedelta(days=NOTICE_DAYS):
        return changed.date()
    return None


def masked(iban):
    """The IBAN as the audit trail keeps it: country, check digits and the last four."""
    return f"{iban[:4]} … {iban[-4:]}" if iban else ""


def change(iban, bic, staff, password, code="", now=None):
    """Replace the business's IBAN and BIC, if `staff` is an owner who proves it again (password,
    and the second factor when they use one). Logged with both accounts (masked); customers
    with open invoices get one mail per contact, in the same transaction; the notice on their
    pages runs from `now`. False when nothing changed."""

    if staff.role != "owner":
        raise Refused("not_owner", _l("Only an owner may change the bank details."))
    try:
        iban = clean_iban(iban) if iban.strip() else ""
    except ValueError:
        raise Refused("bad_iban", _l("This IBAN is not valid: check the country code and the digits."),
                      field="iban") from None
    try:
        bic = clean_bic(bic) if bic.strip() else ""
    except ValueError:
        raise Refused("bad_bic", _l("A BIC has 8 or 11 letters and digits, like CAIXESBB."), field="bic") from None
    if bic and not iban:
        raise Refused("bic_without_iban", _l("Enter the IBAN the BIC belongs to."), field="iban")
    if not password or not verify_password(staff.password_hash, password):
        raise Refused("bad_password", _l("That is not your password."), field="password")
    if staff.totp_enabled and not check_totp(staff, (code or "").strip()):
        raise Refused("bad_code", _l("That code is not right, or was already used."), field="code")
    settings = Settings.get_solo()
    if (iban, bic) == (settings.iban, settings.bic):
        return False
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with db.atomic():
        Settings.save_values({"iban": iban, "bic": bic, "bank_changed_at": now})
        Activity.record("bank_details_changed", staff=staff,
                        data=json.dumps({"from": masked(settings.iban), "to": masked(iban)}))
        settings = Settings.get_solo()
        for contact in contacts_with_open_invoices():
            people = [p.email for p in Person.active_of(contact, roles=PAYERS)]
            if people:
                send_template(people, "bank_changed", recipient_language(contact=contact),
                              contact=contact, business=settings, changed_on=now.date(), portal_url=external_url("/"))
    return True


def contacts_with_open_invoices():
    """Every contact with an issued invoice still to pay: they are the ones a fraudster would write to."""
    owing = (Document.select(Document.contact)
             .where((Document.kind == "invoice") & (Document.status == "open")
                    & (Document.total > Document.amount_paid + Document.amount_credited)))
    return Contact.select().where(Contact.id.in_(owing)).order_by(Contact.id)


def ibans_in(text):
    """The valid IBANs written in `text` (terms, notes), compacted."""
    found = []
    for match in IBAN_IN_TEXT.finditer((text or "").upper()):
        compact = match.group().replace(" ", "")
        for end in range(len(compact), 14, -1):   # the match may run into the words after it
            if stdnum_iban.is_valid(compact[:end]):
                found.append(compact[:end])
                break
    return found


def check_free_text(text, field, settings=None):
    """Refuse terms or notes that name a bank account other than the business's own: payment
    instructions change only through change() above, where the owner confirms and customers
    are told. Otherwise anybody who can edit a document's terms could redirect its payment."""
    settings = settings or Settings.get_solo()
    for found in ibans_in(text):
        if found != settings.iban:
            raise Refused("foreign_iban", _l("This text names the bank account %(iban)s, which is not the business's. "
                                             "Bank details are changed in Settings, Bank details.",
                                             iban=format_iban(found)), field=field)
