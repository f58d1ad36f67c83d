"""The gettext catalogs: complete, current with the source, placeholders intact, and really used.

A string added to the code without a translation fails here by name; run
`sh scripts/translations.sh update`, translate the empty entries in every
translations/<lang>/LC_MESSAGES/messages.po (English repeats the msgid), then run this file again.
"""
import gettext
import os
import re
from collections import Counter

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.config import LANGUAGES
from tests.conftest import soup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "translations")
# The same keywords as `pybabel extract -k _l -k lazy_gettext` in scripts/translations.sh.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

# A printf conversion: %(name)s, %(n)d, %s, %.2f, or the escaped percent sign %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def po_path(lang):
    return os.path.join(TRANSLATIONS, lang, "LC_MESSAGES", "messages.po")


def load(lang):
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang)


@pytest.fixture(scope="module")
def catalogs():
    missing = [lang for lang in LANGUAGES if not os.path.exists(po_path(lang))]
    assert not missing, f"no catalog for {missing}: run sh scripts/translations.sh"
    return {lang: load(lang) for lang in LANGUAGES}


@pytest.fixture(scope="module")
def source():
    """{(context, msgid): "file:line"} for every string babel.cfg extracts from the source."""
    with open(os.path.join(ROOT, "babel.cfg")) as f:
        method_map, options_map = parse_mapping_cfg(f, filename="babel.cfg")
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        found.setdefault((context, msgid), f"{filename}:{lineno}")
    return found


def entries(catalog):
    return [m for m in catalog if m.id]


def strings(message):
    return list(message.string) if message.pluralizable else [message.string]


def placeholders(text):
    """The conversions a string carries, and any bare % left over (a broken format string)."""
    tokens = Counter(PLACEHOLDER.findall(text))
    stray = PLACEHOLDER.sub("", text).count("%")
    return tokens, stray


def test_source_strings_are_extracted(source):
    found = source
    # A guard against a babel.cfg that silently matches nothing: each kind of source is covered.
    places = {where.split(":")[0] for where in found.values()}
    assert any(p.endswith(".py") for p in places)
    assert any(p.startswith("app/templates/") and p.endswith(".html") for p in places)
    assert any(p.startswith("app/templates/mail/") and p.endswith(".txt") for p in places)
    assert any(p.startswith("app/partials/") for p in places)
    assert (None, "Sign in to your customer portal") in found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_every_source_string(lang, catalogs, source):
    catalog = catalogs[lang]
    missing = [f"{where}: {msgid!r}" + (f" (context {ctx!r})" if ctx else "")
               for (ctx, msgid), where in sorted(source.items(), key=lambda kv: kv[1])
               if catalog.get(msgid, context=ctx) is None]
    assert not missing, (f"{len(missing)} string(s) missing from {po_path(lang)}; run "
                         "sh scripts/translations.sh update and translate them:\n" + "\n".join(missing))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_and_clean(lang, catalogs):
    catalog = catalogs[lang]
    untranslated = [m.id for m in entries(catalog) if not all(strings(m))]
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert not untranslated, f"untranslated in {lang}: {untranslated}"
    assert not fuzzy, f"fuzzy in {lang} (check the translation, then drop the flag): {fuzzy}"
    assert not catalog.obsolete, f"obsolete (#~) entries in {lang}: {list(catalog.obsolete)}"
    assert not catalog.fuzzy, f"the header of {lang} is marked fuzzy"
    assert str(catalog.locale) == lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang, catalogs):
    wrong = []
    for m in entries(catalog := catalogs[lang]):
        ids = m.id if m.pluralizable else (m.id,)
        for i, text in enumerate(strings(m)):
            expected = placeholders(ids[min(i, len(ids) - 1)])
            got = placeholders(text)
            if m.pluralizable:
                # The singular may spell the number out ("one item"): no conversion beyond the plural's.
                if got[0] - placeholders(ids[-1])[0] or got[1] != expected[1]:
                    wrong.append((m.id, text))
            elif got != expected:
                wrong.append((m.id, text))
    assert not wrong, f"placeholders differ from the msgid in {lang} ({catalog.locale}):\n" + \
        "\n".join(f"{msgid!r} -> {text!r}" for msgid, text in wrong)


def test_english_catalog_repeats_the_source(catalogs):
    """English is the source language: a reworded English msgstr would hide the real text."""
    changed = [m.id for m in entries(catalogs["en"]) if m.string != m.id]
    assert not changed


def test_portuguese_counts_zero_as_plural(catalogs):
    """Portugal writes "0 encomendas"; `pybabel init -l pt` would bring Brazil's rule (zero singular)."""
    plural = gettext.c2py(catalogs["pt"].plural_expr)
    assert plural(0) == plural(2) != plural(1)


def test_placeholder_check_catches_mistakes():
    assert placeholders("Welcome, %(name)s") == placeholders("Hola, %(name)s")
    assert placeholders("Welcome, %(name)s") != placeholders("Hola, %(nombre)s")
    assert placeholders("Rate (%%)") != placeholders("Tipo (%)")
    assert placeholders("%(n)d of %(m)d") != placeholders("%(n)d de %(n)d")


@pytest.fixture(scope="session")
def compiled():
    """The .mo files `make` compiles, compiled here too when missing or older than their .po."""
    for lang in LANGUAGES:
        mo = po_path(lang)[:-3] + ".mo"
        if not os.path.exists(mo) or os.path.getmtime(mo) < os.path.getmtime(po_path(lang)):
            catalog = load(lang)
            tmp = f"{mo}.{os.getpid()}.tmp"   # another test run may be reading the old file
            with open(tmp, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)


def test_login_page_renders_in_spanish(client, compiled):
    resp = client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    page = soup(resp)
    assert resp.status_code == 200
    assert page.html["lang"] == "es"
    assert page.h1.get_text(strip=True) == "Inicia sesión en tu portal de clientes"
    assert page.find("form", id="login-form").find("button").get_text(strip=True) == "Iniciar sesión"
    assert page.find("label", attrs={"for": "f-password"}).get_text(strip=True).startswith("Contraseña")
    assert "Sign in to your customer portal" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_login_page_renders_in_each_language(lang, client, compiled, catalogs):
    resp = client.get("/login", headers={"Accept-Language": lang})
    page = soup(resp)
    assert page.html["lang"] == lang
    expected = catalogs[lang].get("Sign in to your customer portal").string
    assert page.h1.get_text(strip=True) == expected
    if lang != "en":
        assert expected != "Sign in to your customer portal"


def test_python_message_is_translated(browser, compiled):
    """A message from a view (gettext in Python), not only template text."""
    headers = {"Accept-Language": "de"}
    browser.get("/login", headers=headers)
    resp = browser.post("/login", {"email": "nobody@example.com", "password": "wrong password 123"},
                        headers=headers)
    text = soup(resp).get_text(" ", strip=True)
    assert "E-Mail-Adresse und Passwort passen nicht zusammen." in text
    assert "do not match" not in text


def test_escaped_percent_renders_once(staff, compiled):
    """Jinja's newstyle gettext formats every template string: "%%" in a msgid shows as "%"."""
    resp = staff.get("/staff/catalog/taxes/", headers={"Accept-Language": "fr"})
    label = soup(resp).find("label", attrs={"for": "f-rate"})
    assert label.get_text(strip=True).rstrip("*") == "Taux (%)"
