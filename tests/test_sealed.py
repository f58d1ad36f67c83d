"""Secrets at rest (app/sealed.py): gateway keys and webhook signing secrets are encrypted in
the database, so neither the raw rows nor a backup file hold them in clear; older clear rows
are sealed by `flask migrate`; keys rotate with `flask reseal`."""
import json
import logging

import pytest
from cryptography.fernet import Fernet

from app import create_app, payments, webhooks
from app.backup import backup_sqlite
from app.db import db
from app.models import GatewayConfig, WebhookEndpoint
from tests.conftest import PG_URL

SECRET = "sk_test_51HsealedSecretKeyQQQQ0000wxyz"
HOOK = "whsec_sealedWebhookSecretZZZZ9999"
SIGNING = "whsig_endpointSecretKKKK11112222"


def raw(table, column):
    return [r[0] for r in db.execute_sql(f'SELECT "{column}" FROM "{table}"').fetchall()]


def enter_stripe_keys(staff):
    resp = staff.post("/staff/gateways/stripe", {"mode": "test", "test_secret_key": SECRET,
                                                 "test_webhook_secret": HOOK, "live_secret_key": "",
                                                 "live_webhook_secret": ""})
    assert resp.status_code == 303


def test_gateway_keys_and_webhook_secrets_are_stored_encrypted(app, staff):
    enter_stripe_keys(staff)
    WebhookEndpoint.create(url="https://erp.example/hook", secret=SIGNING, events="invoice.issued")
    stored = raw("gateway_config", "test_credentials") + raw("webhook_endpoint", "secret")
    assert all(value.startswith("sealed:") for value in stored)
    assert not any(s in value for value in stored for s in (SECRET, HOOK, SIGNING))
    # ...and the app reads them back in clear.
    assert json.loads(GatewayConfig.get().test_credentials) == {"secret_key": SECRET, "webhook_secret": HOOK}
    assert WebhookEndpoint.get().secret == SIGNING
    with app.test_request_context():
        assert payments.get("stripe").credentials["secret_key"] == SECRET
        header = webhooks.signature_header(WebhookEndpoint.get().secret, b"{}")
        assert webhooks.verify(SIGNING, header, b"{}")


@pytest.mark.skipif(bool(PG_URL), reason="only on SQLite: the backup file; PostgreSQL dumps hold the same sealed rows")
def test_a_backup_file_holds_no_key_in_clear(app, staff, tmp_path):
    enter_stripe_keys(staff)
    WebhookEndpoint.create(url="https://erp.example/hook", secret=SIGNING, events="invoice.issued")
    target = tmp_path / "backup.db"
    backup_sqlite(db.obj.database, str(target))
    data = target.read_bytes()
    assert b"sealed:" in data
    for secret in (SECRET, HOOK, SIGNING):
        assert secret.encode() not in data


def test_flask_migrate_seals_what_an_older_version_stored_in_clear(app, runner):
    clear = json.dumps({"secret_key": SECRET, "webhook_secret": HOOK})
    db.execute_sql("INSERT INTO gateway_config (gateway, mode, test_credentials, live_credentials, updated_at) "
                   f"VALUES ('stripe', 'test', {db.param}, '{{}}', CURRENT_TIMESTAMP)", (clear,))
    db.execute_sql("INSERT INTO webhook_endpoint (url, description, secret, events, active, created_at) "
                   f"VALUES ('https://erp.example/h', '', {db.param}, 'invoice.issued', {db.param}, CURRENT_TIMESTAMP)",
                   (SIGNING, True))
    assert GatewayConfig.get().credentials("test")["secret_key"] == SECRET   # clear rows still read
    result = runner.invoke(args=["migrate"])
    assert result.exit_code == 0 and "now encrypted" in result.output
    assert raw("gateway_config", "test_credentials")[0].startswith("sealed:")
    assert raw("webhook_endpoint", "secret")[0].startswith("sealed:")
    assert SECRET not in raw("gateway_config", "test_credentials")[0]
    assert GatewayConfig.get().credentials("test")["secret_key"] == SECRET
    assert WebhookEndpoint.get().secret == SIGNING
    assert "now encrypted" not in runner.invoke(args=["migrate"]).output   # once


def test_keys_rotate_with_reseal_and_a_wrong_key_reads_nothing(app, database_url, caplog):
    WebhookEndpoint.create(url="https://erp.example/hook", secret=SIGNING, events="invoice.issued")
    GatewayConfig.create(gateway="stripe", test_credentials=json.dumps({"secret_key": SECRET, "webhook_secret": HOOK}))
    before = raw("gateway_config", "test_credentials")[0]
    new_key = Fernet.generate_key().decode()
    old_key = _derived_for(app)

    rotated = _app_with(database_url, f"{new_key},{old_key}")
    with rotated.app_context():
        assert GatewayConfig.get().credentials("test")["secret_key"] == SECRET   # the old key still opens
        # the webhook secret and both key sets of the gateway (the empty live set too)
        assert "sealed 3 stored secret(s)" in rotated.test_cli_runner().invoke(args=["reseal"]).output
        assert raw("gateway_config", "test_credentials")[0] != before
    only_new = _app_with(database_url, new_key)
    with only_new.app_context():
        assert WebhookEndpoint.get().secret == SIGNING
        assert GatewayConfig.get().credentials("test")["secret_key"] == SECRET
    stranger = _app_with(database_url, Fernet.generate_key().decode())
    with stranger.app_context(), caplog.at_level(logging.ERROR):
        assert GatewayConfig.get().credentials("test") == {}   # not configured, not a crash
        assert "cannot be decrypted" in caplog.text and SECRET not in caplog.text
        assert WebhookEndpoint.get().secret == ""   # never signs with a wrong secret (webhooks.deliver)


def test_a_malformed_encryption_key_stops_the_start(database_url):
    with pytest.raises(ValueError):
        _app_with(database_url, "not-a-fernet-key")


def _derived_for(app):
    from app.sealed import derived_key
    return derived_key(app.config["SECRET_KEY"]).decode()


def _app_with(database_url, keys):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                       "DATABASE_URL": database_url, "BASE_URL": "http://portal.test",
                       "PORTAL_ENCRYPTION_KEY": keys})
