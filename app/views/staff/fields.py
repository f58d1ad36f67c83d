"""Form fields that several back-office areas read the same way (products, settings, categories)."""
from flask_babel import gettext as _

from ...models import Category


def read_amount(form, name, currency, required=True):
    """form.amount, but a number of thousands of digits gets a message instead of an overflow."""
    if len(form.raw(name).strip()) > 40:
        return form.error(name, _("This number is too large."))
    return form.amount(name, currency, required=required)


def read_category(form, name="category"):
    """An optional category id from the form: None for none, an error for an unknown id."""
    raw = form.raw(name).strip()
    if not raw:
        return None
    category = Category.get_or_none(Category.id == int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if category is None:
        return form.error(name, _("Choose one of the categories."))
    return category
