"""Back-office: payment reminders. The schedule and switch (on the settings page), a contact's
"no reminders" switch (on its page), and "send a reminder now" (on an invoice's page). The rules
are app/reminders.py's; these views read the form and show what came back."""
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ... import reminders
from ...models import Settings
from ...rules import By, Refused
from ...web.forms import Form
from . import get_any_document, staff_blueprint
from .contacts import get_contact
from .settings import settings_page

bp = staff_blueprint("reminders", "/reminders")


def settings_form(settings, data=None):
    """The reminders form of the settings page, from the business row or what was typed."""
    if data is not None:
        form = Form(data)
        form.checkbox("reminders_enabled")
        form.raw(reminders.FIELD)
        return form
    return Form(values={"reminders_enabled": settings.reminders_enabled,
                        reminders.FIELD: reminders.format_steps(reminders.schedule(settings))})


@bp.post("/settings")
def save_settings():
    """Switch payment reminders on or off and set their days."""
    settings = Settings.get_solo()
    form = settings_form(settings, request.form)
    try:
        reminders.save_settings(form.value("reminders_enabled"), form.value(reminders.FIELD))
    except Refused as exc:
        form.error(exc.field, str(exc.message))
        return settings_page(settings, status=422, reminder_form=form)
    flash(_("Reminder settings saved."), "success")
    return redirect(url_for("staff.settings.edit") + "#reminders", 303)


@bp.post("/contacts/<int:contact_id>/<any(on,off):state>")
def contact_switch(contact_id, state):
    """Turn payment reminders on or off for one contact."""
    contact = get_contact(contact_id)
    reminders.set_contact_opt_out(contact, state == "off")
    flash(_("Payment reminders are off for %(name)s.", name=contact.name) if state == "off"
          else _("Payment reminders are on for %(name)s.", name=contact.name), "success")
    return redirect(url_for("staff.contacts.show", contact_id=contact.id) + "#contact-reminders", 303)


@bp.post("/documents/<int:doc_id>")
def send_now(doc_id):
    """Send a payment reminder for this invoice now (it uses up no step of the schedule)."""
    doc = get_any_document(doc_id)
    try:
        mail = reminders.send_now(doc, By(staff=g.staff))
    except Refused as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Reminder sent to %(who)s.", who=", ".join(mail.recipient_list)), "success")
    return redirect(url_for("staff.documents.show", doc_id=doc.id) + "#reminders", 303)


bp.record_once(lambda state: state.app.jinja_env.globals.update(
    reminder_step=reminders.describe_step, reminder_settings_form=settings_form))
