"""Error pages: short, translated, with the security headers every response carries."""
import logging

from flask import current_app, g, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import SecurityError

from ..config import LANGUAGES

log = logging.getLogger("portal.errors")


def _page(status, title, message):
    # error_page: the menu's language forms come back home, not to a page that failed.
    return render_template("errors/error.html", title=title, message=message, error_page=True), status


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _page(400, _("This form has expired"), _("Go back, reload the page and try again."))

    @app.errorhandler(SecurityError)
    def untrusted_host(exc):
        # A Host header this site does not serve (TRUSTED_HOSTS): no page of ours, whose links
        # would be built for that host, and nothing that needs the URL adapter it lacks.
        log.info("refused Host header %r from %s", request.environ.get("HTTP_HOST", "")[:100], request.remote_addr)
        return "Bad request: unknown host.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(400)
    def bad_request(exc):
        return _page(400, _("Something in this request is not right"), _("Go back and try again."))

    @app.errorhandler(404)
    def not_found(exc):
        return _page(404, _("Page not found"), _("This page does not exist, or you do not have access to it."))

    @app.errorhandler(405)
    def not_allowed(exc):
        return _page(405, _("Page not found"), _("This page does not exist, or you do not have access to it."))

    @app.errorhandler(413)
    def too_large(exc):
        return _page(413, _("That upload is too large"), _("Choose a smaller file and try again."))

    @app.errorhandler(403)
    def forbidden(exc):
        log.info("refused %s %s ip=%s staff=%s", request.method, request.url_rule.rule if request.url_rule else "-",
                 request.remote_addr, getattr(g.get("staff"), "id", "-"))
        return _page(403, _("Page not found"), _("This page does not exist, or you do not have access to it."))

    @app.errorhandler(429)
    def too_many(exc):
        log.info("rate limit hit: %s %s ip=%s (%s)", request.method,
                 request.url_rule.rule if request.url_rule else "-", request.remote_addr, exc.description)
        return _page(429, _("Too many attempts"),
                     _("For your security, please wait a few minutes before trying again."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(exc):
        log.error("database unavailable: %s: %s", exc.__class__.__name__, str(exc)[:200])
        # No context processors here: each of them (the signed-in person, the business name)
        # would ask the database that just failed, and turn this page into a bare 500.
        g.person = None
        lang = request.accept_languages.best_match(LANGUAGES) or "en"
        with force_locale(lang):
            html = current_app.jinja_env.get_template("errors/unavailable.html").render(
                lang=lang, css_url=url_for("static", filename="css/app.css"),
                title=_("We will be right back"),
                message=_("The portal is briefly unavailable. Please try again in a minute."))
        return html, 503, {"Retry-After": "30"}

    @app.errorhandler(500)
    def server_error(exc):
        return _page(500, _("Something went wrong"), _("Please try again. If it keeps happening, contact us."))
