"""Scale-out, proven: two app servers (gunicorn on two ports) and two job workers on one
PostgreSQL and one Redis, on the loopback interface, as README "Scaling" describes.

- A person signs in on one server and goes on on the other (sessions live in the database).
- Rate limits are shared: failed sign-ins on A count on B (Flask-Limiter in Redis).
- 200 mails queued at once are each sent exactly once by the two workers (leased claims).
- Two customers on the two servers check out the last unit at the same moment: sold once.
"""
import os
import threading

import pytest
import redis
import requests

from app import mail
from app.db import db
from app.models import Document, DocumentLine, Job, Product
from tests.conftest import PG_URL
from tests.factories import make_contact, make_document, make_person, make_product, settings
from tests.servers import Gunicorn, Worker, app_env, wait_until
from tests.smtp import smtp_server  # noqa: F401  (a fixture)
from tests.test_load_faults import PASSWORD, TIMEOUT, field_value, sign_in

pytestmark = [pytest.mark.load,
              pytest.mark.skipif(not PG_URL, reason="only on PostgreSQL (with Redis): the PostgreSQL run covers this")]

REDIS_URL = "redis://127.0.0.1:6379/9"   # a database of its own, emptied first


@pytest.fixture
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def cluster(app, database_url, shared_redis, smtp_server, tmp_path):  # noqa: F811
    """Two servers and two workers sharing the database and Redis (each its own instance folder)."""
    settings(default_language="en", notify_email="")
    db.close()

    def env(name):
        return app_env(tmp_path / name, DATABASE_URL=database_url, REDIS_URL=shared_redis,
                       SMTP_PORT=smtp_server.port, LOGIN_LIMIT_ACCOUNT_IP="5 per 5 minutes")
    servers = [Gunicorn(env("a"), tmp_path, workers=2), Gunicorn(env("b"), tmp_path, workers=2)]
    workers = [Worker(env("w1"), tmp_path), Worker(env("w2"), tmp_path)]
    app.config["REDIS_URL"] = shared_redis       # this process rings the same Huey queue
    app.config["SMTP_PORT"] = smtp_server.port
    yield servers, workers, smtp_server
    for process in servers + workers:
        process.stop()
    for process in servers:
        assert not process.errors_in_log(), process.errors_in_log()[:3]


def test_a_session_from_one_server_goes_on_on_the_other(cluster):
    (a, b), _workers, _smtp = cluster
    person = make_person(contact=make_contact(name="Talleres Ruiz", portal_enabled=True), email="ana@example.com")
    doc = make_document(person.contact, number="F-2026-0101")
    session = sign_in(a.url, person)
    page = session.get(f"{b.url}/documents/{doc.id}", timeout=TIMEOUT)
    assert page.status_code == 200 and "F-2026-0101" in page.text
    csrf = field_value(page.text, "csrf_token")
    posted = session.post(f"{b.url}/documents/{doc.id}/comments", data={"body": "Written on B", "csrf_token": csrf},
                          allow_redirects=False, timeout=TIMEOUT)
    assert posted.status_code == 303
    assert "Written on B" in session.get(f"{a.url}/documents/{doc.id}", timeout=TIMEOUT).text
    session.post(f"{b.url}/logout", data={"csrf_token": csrf}, timeout=TIMEOUT)
    assert session.get(f"{a.url}/", allow_redirects=False, timeout=TIMEOUT).status_code == 302   # out on A too


def test_failed_sign_ins_on_one_server_count_on_the_other(cluster):
    (a, b), _workers, _smtp = cluster
    person = make_person(email="luis@example.com", password=PASSWORD)

    def attempt(server, password):
        browser = requests.Session()
        page = browser.get(f"{server.url}/login", timeout=TIMEOUT)
        return browser.post(f"{server.url}/login", allow_redirects=False, timeout=TIMEOUT, data={
            "email": person.email, "password": password, "csrf_token": field_value(page.text, "csrf_token")})
    statuses = [attempt(server, "a wrong guess").status_code for server in (a, b, a, b, a)]
    assert statuses == [422] * 5
    assert attempt(b, "a wrong guess").status_code == 429      # the limit of 5 was reached across both
    assert attempt(a, PASSWORD).status_code == 429             # and holds on A as well


def test_two_hundred_mails_are_each_sent_once_by_two_workers(app, cluster):
    _servers, workers, smtp = cluster
    wait_until(lambda: all("consumer started" in w.log() for w in workers), 60, 0.2, "both workers")
    with app.app_context():      # committed, then rung through Redis as the app does
        with db.atomic():
            jobs = [mail.send_mail(to=f"person{i}@example.com", subject=f"Mail {i}", text="Hello") for i in range(200)]
    wait_until(lambda: len(smtp.messages) >= 200, 120, 0.2, "200 mails")
    wait_until(lambda: Job.select().where(Job.status == "done").count() == 200, 30, 0.2, "200 jobs done")
    recipients = [m.rcpt_tos[0] for m in smtp.messages]
    assert sorted(recipients) == sorted(f"person{i}@example.com" for i in range(200))   # none twice
    assert {j.attempts for j in Job.select().where(Job.id.in_([job.id for job in jobs]))} == {1}
    assert all(" done, attempt 1" in w.log() for w in workers)   # both took their share


def test_the_last_unit_is_sold_once_across_two_servers(cluster):
    (a, b), _workers, _smtp = cluster
    last = make_product("Last one", price=4550, stock=1, sku="LAST")
    people = [make_person(contact=make_contact(name=f"Shop {i}", catalog_enabled=True, portal_enabled=True),
                          email=f"shop{i}@example.com") for i in range(2)]
    forms = []
    for server, person in zip((a, b), people):
        session = sign_in(server.url, person)
        added = session.post(f"{server.url}/cart/items", allow_redirects=False, timeout=TIMEOUT,
                             data={"product_id": last.id, "quantity": 1, "csrf_token": session.csrf})
        assert added.status_code == 303
        page = session.get(f"{server.url}/checkout/", timeout=TIMEOUT).text
        forms.append((session, server, {"csrf_token": session.csrf, "key": field_value(page, "key"),
                                        "state": field_value(page, "state"), "shipping_address": "Calle Mayor 1"}))
    answers, start = [None, None], threading.Barrier(2)

    def checkout(i):
        session, server, form = forms[i]
        start.wait()
        answers[i] = session.post(f"{server.url}/checkout/", data=form, allow_redirects=False, timeout=TIMEOUT)
    threads = [threading.Thread(target=checkout, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status_code for r in answers) == [303, 422], [r.status_code for r in answers]
    sold = (DocumentLine.select().join(Document)
            .where((DocumentLine.product == last.id) & (Document.kind == "order")).count())
    assert sold == 1 and Product.get_by_id(last.id).stock == 0


def test_the_suite_can_reach_redis():
    """Redis is part of the machine (DEVELOPERS.md): without it the tests above must fail, not skip."""
    assert redis.Redis.from_url(REDIS_URL).ping()
    assert os.environ.get("DATABASE_URL", "").startswith("postgres")
