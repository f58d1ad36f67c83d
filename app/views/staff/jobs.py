"""Back-office: the job queue (counts, failed and waiting jobs, retry) and a test mail."""
import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ... import jobs, mail
from ...web.forms import Form
from ...models import Job, utcnow
from . import staff_blueprint

bp = staff_blueprint("jobs", "/jobs")
PAGE = 50
FILTERS = ("failed", "running", "pending")


def index_context(form=None):
    """What the jobs page shows, for the page itself and for a rejected test-mail form."""
    status = request.args.get("status", "")
    status = status if status in FILTERS else ""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = list(Job.needing_attention((status,) if status else FILTERS).paginate(page, PAGE + 1))
    return {"counts": Job.counts(), "jobs": rows[:PAGE], "status": status, "page": page,
            "has_next": len(rows) > PAGE, "filters": FILTERS,
            "form": form or Form(values={"to": g.staff.email})}


@bp.get("/")
def index():
    """Show job counts and the jobs that failed or are waiting to run."""
    return render_template("staff/jobs/index.html", **index_context())


@bp.post("/<int:job_id>/retry")
def retry(job_id):
    """Queue a failed job again with a fresh set of attempts."""
    if Job.get_or_none(Job.id == job_id) is None:
        abort(404)
    if Job.retry(job_id, utcnow()):
        jobs.dispatch_after_commit(job_id)
        flash(_("Job %(id)d will run again shortly.", id=job_id), "success")
    else:
        flash(_("Job %(id)d has not failed, so there is nothing to retry.", id=job_id), "info")
    return redirect(url_for(".index"), 303)


@bp.post("/test-mail")
def test_mail():
    """Queue a test message to check the outgoing mail settings."""
    form = Form(request.form)
    to = form.email("to", required=True)
    if not form.ok:
        return render_template("staff/jobs/index.html", **index_context(form)), 422
    mail.send_template(to, "test", str(get_locale()), sent_at=datetime.date.today())
    flash(_("A test message to %(to)s is queued.", to=to), "success")
    return redirect(url_for(".index"), 303)
