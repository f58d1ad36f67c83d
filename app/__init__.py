"""The customer portal: create_app() builds the Flask application from the environment."""
import os

from flask import request
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from . import config as config_module
from . import jobs, logs
from .db import db, init_db, is_sqlite
from .web.assets import PortalFlask

csrf = CSRFProtect()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config=None):
    app = PortalFlask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(ROOT, "instance"),
                      static_folder=os.path.join(ROOT, "static"), static_url_path="/static")
    app.config.from_mapping(config_module.from_env(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    config_module.check(app.config)
    if not app.testing:
        logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"] and app.config["PORTAL_ENV"] == "development":
        app.config["SECRET_KEY"] = config_module.development_key(app.instance_path)

    # Pages in app/templates; HTMX fragments in app/partials, named "partials/_x.html" so that a
    # page and a fragment can never shadow each other.
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(os.path.join(app.root_path, "templates")),
        PrefixLoader({"partials": FileSystemLoader(os.path.join(app.root_path, "partials"))})])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    init_db(app.config["DATABASE_URL"])
    from . import sealed
    sealed.init_app(app)
    from .web import observe
    observe.init_app(app)   # first: the request id is there for everything else
    _per_request_connection(app)
    csrf.init_app(app)

    from . import auth
    from . import labels
    from .web import errors, i18n, ids, limits, security
    ids.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    jobs.init_app(app)
    _job_handlers(app)

    from .views import auth as auth_views, comments, documents, pdf, portal, profile, quotes, staff
    from .views import cart, catalog, checkout, payment_history, statement
    for blueprint in (auth_views.bp, portal.bp, documents.bp, pdf.bp, profile.bp, comments.bp, quotes.bp,
                      catalog.bp, cart.bp, checkout.bp, statement.bp, payment_history.bp):
        app.register_blueprint(blueprint)
    from .views import health, payment_webhooks, payments, verify
    for blueprint in (payments.bp, payment_webhooks.bp, health.bp, verify.bp):
        app.register_blueprint(blueprint)
    from .views import accountant, accountants, keys, packs
    for blueprint in (accountant.door, accountant.bp, accountants.bp, packs.bp, keys.bp, keys.door):
        app.register_blueprint(blueprint)
    from .views import roles, team
    app.register_blueprint(team.bp)
    app.register_blueprint(team.door)
    roles.init_app(app)
    accountant.init_app(app)   # after auth: the accountant's check sees who is signed in
    staff.register(app)
    from . import api
    api.init_app(app)   # /api/v1 (exempt from CSRF: bearer tokens)

    from . import cli
    cli.init_app(app)
    return app


def _job_handlers(app):
    """Every kind of job and the function that runs it, in one place (the worker builds the
    app too, so it knows them all)."""
    from . import mail, reminders, statement, webhooks
    mail.init_app(app)
    mail.attachment_maker("statement", statement.mail_attachment)
    jobs.handler("mail", redact=mail.redact)(mail.deliver)
    jobs.handler(webhooks.JOB_KIND)(webhooks.deliver)
    from . import yearly_pack
    jobs.handler(yearly_pack.JOB_KIND)(yearly_pack.run)
    jobs.handler(reminders.JOB_KIND)(reminders.run_job)
    jobs.on_sweep(reminders.tick)


def _per_request_connection(app):
    @app.before_request
    def _connect():
        # /healthz answers without the database; /readyz connects itself, to say when it cannot.
        if request.endpoint not in ("static", "health.healthz", "health.readyz"):
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if db.is_closed():
            return
        if is_sqlite() and not db.in_transaction():
            # A worker keeps its SQLite connection: a new one reads the schema again on its
            # first statement (about 1 ms, more than most pages' queries).
            return
        db.close()   # PostgreSQL: back to the pool
