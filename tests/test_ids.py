"""Ids out of range are not found, on every route (app/web/ids.py): never a 500."""
import re

from app.api.auth import create_token
from app.web.ids import MAX_ID

HUGE = "99999999999999999999999"


def test_every_route_with_an_id_answers_404_for_an_id_out_of_range(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:\w+>", HUGE, rule.rule)
        url = re.sub(r"<any\(([a-z]+),[^>]*>", r"\1", url)
        url = re.sub(r"<[^>]+>", "x", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method)
            assert resp.status_code == 404, (method, url, resp.status_code)
            checked += 1
    assert checked > 50   # the walk did find the routes


def test_the_largest_id_reaches_the_views_and_is_not_found(app, staff, auth):
    person = auth.login_new_person()
    bearer = {"Authorization": "Bearer " + create_token("ERP")[0]}
    for url in (f"/documents/{MAX_ID}", f"/documents/{MAX_ID}/pdf", f"/documents/{MAX_ID}/print",
                f"/payments/{MAX_ID}/receipt"):
        assert person.get(url).status_code == 404, url
    for url in (f"/staff/documents/{MAX_ID}", f"/staff/contacts/{MAX_ID}", f"/staff/products/{MAX_ID}/edit"):
        assert staff.get(url).status_code == 404, url
    assert app.test_client().get(f"/api/v1/documents/{MAX_ID}", headers=bearer).status_code == 404
