"""What a fresh installation starts with, set by `flask migrate` on a database that has no
business row yet: the business's languages and default language from DEFAULT_LANGUAGE, its
currency and the usual tax rates of its country (COUNTRY). Staff change them afterwards in the
back-office; an installation that has a business row is never touched."""
from ..config import LANGUAGES
from ..db import db
from ..models import Settings, TaxRate

# (name, rate in basis points, the default for new lines). Withholdings are negative.
TAXES = {
    "ES": [("IVA", 2100, True), ("IVA", 1000, False), ("IVA", 400, False), ("IVA", 0, False),
           ("Recargo de equivalencia", 520, False), ("Recargo de equivalencia", 140, False),
           ("Recargo de equivalencia", 50, False), ("IRPF", -1500, False), ("IRPF", -700, False)],
    "PT": [("IVA", 2300, True), ("IVA", 1300, False), ("IVA", 600, False), ("IVA", 0, False)],
    "FR": [("TVA", 2000, True), ("TVA", 1000, False), ("TVA", 550, False), ("TVA", 210, False)],
    "DE": [("USt", 1900, True), ("USt", 700, False), ("USt", 0, False)],
    "IT": [("IVA", 2200, True), ("IVA", 1000, False), ("IVA", 500, False), ("IVA", 400, False)],
}
CURRENCY = {"ES": "EUR", "PT": "EUR", "FR": "EUR", "DE": "EUR", "IT": "EUR"}


def set_up(config):
    """Create the business row and the country's tax rates if there is no business row yet;
    returns what was done (for the command's output), or "" when nothing was."""
    country = config["COUNTRY"]
    language = config["BABEL_DEFAULT_LOCALE"] if config["BABEL_DEFAULT_LOCALE"] in LANGUAGES else "en"
    with db.connection_context(), db.atomic():
        if Settings.select().exists():
            return ""
        Settings.create(id=1, default_language=language, default_currency=CURRENCY.get(country, "EUR"),
                        languages=",".join([language] + [code for code in LANGUAGES if code != language]))
        rates = [] if TaxRate.select().exists() else TAXES.get(country, [])
        for name, rate_bp, default in rates:
            TaxRate.create(name=name, rate_bp=rate_bp, is_default=default)
    return f"new installation: {len(rates)} tax rate(s) of {country}, default language {language}."
