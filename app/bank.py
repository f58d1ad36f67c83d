"""The business's bank account: the IBAN and BIC printed on documents and in e-invoices, the
account customers pay transfers to. Checked when typed (ISO 13616 and ISO 9362 through
python-stdnum), and changed only by an owner who proves it is them again (app/views/staff/bank.py):
a changed IBAN is the most common invoice fraud there is."""
import datetime

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from .models import Settings

NOTICE_DAYS = 60


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


def notice_date(settings=None, now=None):
    """The day the bank details changed while customers are still told about it, else None."""
    settings = settings or Settings.get_solo()
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    changed = settings.bank_changed_at
    if changed and now - changed < datetime.timedelta(days=NOTICE_DAYS):
        return changed.date()
    return None
