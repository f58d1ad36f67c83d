"""Document PDFs: rendered by WeasyPrint in the customer's language, cached per document version.

The renderer loads nothing by itself: its URL fetcher serves the business logo under a private
URL and refuses everything else, so a URL or an <img> typed into a note (escaped to text by
Jinja anyway) can never make the server fetch from the network or read a file. Fonts come from
the system through fontconfig (DejaVu Sans, named in static/css/pdf.css), not through URLs.

Cache: files under instance/pdf-cache/ (PDF_CACHE_DIR), named by a key hash that covers
everything the sheet shows and the version counter does not: the business details and logo,
the customer's details, payments, and the renderer itself (pdf.css, the templates, the
translations, WeasyPrint's version). Rendering is deterministic (no dates, no random ids in the
file), so app servers that each keep their own cache produce the same bytes for the same key, and
the key hash serves as a strong ETag everywhere. Only the newest file per document and language is
kept, plus a global cap on the number of files. Files, not a table: the cache can be thrown away
at any time, stays out of database backups, and needs no schema change.
"""
import glob
import hashlib
import importlib.metadata
import json
import os
import re
import tempfile
import threading
import time

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSS_PATH = os.path.join(ROOT, "static", "css", "pdf.css")
TEMPLATES = ("pdf/document.html", "partials/_doc_sheet.html", "partials/_doc_totals.html",
             "partials/_sheet_business.html", "partials/_sheet_verify.html")
# The only URLs the renderer may load: a private scheme no browser or server speaks.
BASE_URL = "portal-pdf:/"
LOGO_URL = "portal-pdf:/logo"
DEFAULT_MAX_FILES = 2000
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?$")

RENDERS = 0          # renders done by this process: the cache's tests count them
_render_lock = threading.Lock()
_shared = {}         # the parsed stylesheet, the font configuration, the renderer fingerprint


class RefusedFetch(ValueError):
    """The renderer asked for a URL it may not load."""


def _weasy():
    """WeasyPrint, imported on first use: it costs half a second that most workers never need."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    if "fetcher" not in _shared:
        class Fetcher(URLFetcher):
            """Serves the logo bytes at LOGO_URL; every other URL raises, nothing is opened."""

            def __init__(self, logo=None):
                super().__init__(timeout=1, allowed_protocols=())
                self.logo = logo

            def fetch(self, url, headers=None):
                if url == LOGO_URL and self.logo is not None:
                    data, content_type = self.logo
                    return URLFetcherResponse(url, data, {"Content-Type": content_type})
                current_app.logger.warning("PDF renderer refused to load %.200r", url)
                raise RefusedFetch(f"not loaded: {url[:200]}")

        _shared["fetcher"] = Fetcher
        font_config = FontConfiguration()
        with open(CSS_PATH, encoding="utf-8") as f:
            css_text = f.read()
        _shared["font_config"] = font_config
        _shared["css"] = weasyprint.CSS(string=css_text, base_url=BASE_URL, url_fetcher=Fetcher(),
                                        font_config=font_config)
    return weasyprint, _shared


def _renderer_fingerprint(language, templates=TEMPLATES):
    """A hash of what turns a document into bytes in `language`: the stylesheet, the templates,
    the compiled translations and WeasyPrint's version. A deploy that changes any renders anew."""
    key = language if templates == TEMPLATES else (language, templates)
    if key not in _shared.setdefault("fingerprints", {}):
        h = hashlib.sha256(importlib.metadata.version("weasyprint").encode())
        with open(CSS_PATH, "rb") as f:
            h.update(f.read())
        env = current_app.jinja_env
        for name in templates:
            h.update(env.loader.get_source(env, name)[0].encode())
        with open(os.path.join(ROOT, "app", "einvoice.py"), "rb") as f:   # the XML a PDF carries
            h.update(f.read())
        for folder in current_app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";"):
            try:
                with open(os.path.join(folder, language, "LC_MESSAGES", "messages.mo"), "rb") as f:
                    h.update(f.read())
            except FileNotFoundError:
                pass
        _shared["fingerprints"][key] = h.hexdigest()
    return _shared["fingerprints"][key]


def renderer_fingerprint(language, templates):
    """The renderer's fingerprint for other sheets than documents' (the statement of account):
    the same stylesheet, translations and WeasyPrint, with their own `templates`."""
    return _renderer_fingerprint(language, tuple(templates))


def cache_key(doc, language, settings):
    """The document version, the language, and what else the sheet shows (see the docstring)."""
    if not LANGUAGE_RE.match(language):
        raise ValueError(f"not a language code: {language!r}")
    parts = {
        "doc": [doc.id, doc.version, doc.number, str(doc.created_at), str(doc.updated_at),
                doc.total, doc.amount_paid, doc.amount_credited],
        "language": language,
        "renderer": _renderer_fingerprint(language),
    }
    if doc.snapshot:   # issued: the business and the customer as they were, whatever they are now
        parts["snapshot"] = hashlib.sha256(doc.snapshot.encode()).hexdigest()
        if '"country"' not in doc.snapshot:   # frozen before 0014: the e-invoice takes today's
            parts["einvoice"] = [settings.country, settings.iban, settings.bic, doc.contact.country]
    else:
        contact = doc.contact
        parts["business"] = [settings.name, settings.tax_id, settings.address, settings.email,
                             settings.phone, settings.logo_type, settings.logo_hash]
        parts["contact"] = [contact.id, contact.name, contact.tax_id, contact.billing_address]
    return json.dumps(parts, sort_keys=True, default=str)


def document_etag(doc, language, settings):
    """The strong ETag value (without quotes) of this document's PDF in `language`."""
    return hashlib.sha256(cache_key(doc, language, settings).encode()).hexdigest()[:40]


def page_label_css():
    """The CSS `content` of the page-number box, from the translated "Page N of M" sentence.

    Translators may move the numbers around, so the sentence is split at its placeholders;
    the text between them becomes CSS strings (css_string)."""
    page, pages = "\x00page\x00", "\x00pages\x00"
    sentence = _("Page %(page)s of %(pages)s", page=page, pages=pages)
    out = []
    for part in re.split("(\x00pages?\x00)", sentence):
        if part == page:
            out.append("counter(page)")
        elif part == pages:
            out.append("counter(pages)")
        elif part:
            out.append(css_string(part))
    return Markup(" ".join(out))


def css_string(text):
    """A quoted CSS string: every character but letters, digits and spaces is hex-escaped (six
    digits, so no terminator is needed), so nothing can close the string or the <style>."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in text) + '"'


def pdf_context(doc, settings):
    """What templates/pdf/document.html needs (the same sheet as the portal's document page)."""
    from .sheet import sheet_context   # here, as Settings below: importing this module loads no models
    return {**sheet_context(doc, doc.contact, settings, LOGO_URL), "page_label": page_label_css()}


def _logo_of(doc, settings):
    """The logo hash the sheet shows: the snapshot's for an issued document, today's else."""
    from .sheet import logo_version
    return logo_version(doc, settings)


def logo(logo_hash, current=False):
    """(bytes, content type) of the logo with this SHA-256, or None; read from the database once
    per process: a hash names the same bytes forever. `current`: the business's logo now (read
    from the settings row), else the kept version with that hash (an issued document's)."""
    from .models import Settings   # here: importing this module loads no models
    if not logo_hash:
        return None
    logos = _shared.setdefault("logos", {})
    if logo_hash not in logos:
        found = Settings.get_logo() if current else Settings.get_logo(version=logo_hash)
        if found is None or hashlib.sha256(found[0]).hexdigest() != logo_hash:
            return found   # changed meanwhile (or gone): served, not kept under a hash it lacks
        _keep(logos, logo_hash, found)
    return logos[logo_hash]


def _keep(store, key, value, size=8):
    """A small store of the few logos in use: the oldest goes when it is full."""
    if len(store) >= size:
        store.pop(next(iter(store), None), None)   # another thread may have dropped it first
    store[key] = value


def render_document(doc, language, settings):
    """Render the PDF now (no cache): bytes. An issued invoice or credit note is a Factur-X:
    a PDF/A-3b carrying its EN 16931 XML (app/einvoice.py), when it has one."""
    with force_locale(language):
        html = render_template("pdf/document.html", **pdf_context(doc, settings))
    logo_hash = _logo_of(doc, settings)
    return render_html(html, logo(logo_hash), logo_hash, einvoice=_einvoice_of(doc, settings))


def _einvoice_of(doc, settings):
    from . import einvoice
    if not einvoice.available(doc):
        return None
    try:
        return einvoice.xml(doc, settings), doc.issued_at or doc.issue_date
    except einvoice.Unavailable as why:
        current_app.logger.info("document %s: no e-invoice in its PDF: %s", doc.id, why)
        return None


def render_html(html, logo=None, logo_hash="", einvoice=None):
    """HTML to PDF bytes with static/css/pdf.css; `logo` (bytes, type) is served at LOGO_URL.
    Given its `logo_hash` (and the bytes logo() keeps under it), the logo is decoded once per
    process and reused by the next renders (WeasyPrint's image cache, kept per logo: the URL is
    the same for every logo)."""
    global RENDERS
    # One render at a time per process: the shared font configuration and Pango are not meant
    # to be used from several threads at once, and a render is CPU-bound anyway.
    with _render_lock:
        weasyprint, shared = _weasy()
        fetcher = shared["fetcher"](logo)
        images = {}
        if logo is not None and logo_hash and shared.get("logos", {}).get(logo_hash) is logo:
            caches = shared.setdefault("images", {})
            if logo_hash not in caches:
                _keep(caches, logo_hash, {})
            images = caches[logo_hash]
        options = {"stylesheets": [shared["css"]], "font_config": shared["font_config"], "cache": images}
        if einvoice is not None:
            options.update(_factur_x(weasyprint, fetcher, *einvoice))
        document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(**options)
        if einvoice is not None:
            document.metadata.__class__ = _factur_x_metadata(type(document.metadata))
        data = document.write_pdf(**{k: v for k, v in options.items() if k != "font_config"})
        RENDERS += 1
    return data


# The Factur-X 1.0 XMP block (the standard's extension schema, as the factur-x package writes
# it): it tells readers the PDF carries factur-x.xml in the EN 16931 profile. WeasyPrint writes
# the rest: PDF/A-3b (fonts embedded, an sRGB output intent) and the attachment with its
# /AFRelationship. Built here rather than by the factur-x package, which re-writes the whole
# file with pypdf after WeasyPrint: one pass instead of two, and nothing to break PDF/A.
FACTUR_X_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FACTUR_X_XMP = ("""<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>""" + FACTUR_X_URN + """</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>""" + "".join(
    f"""<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name>"""
    f"""<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>"""
    f"""<pdfaProperty:description>{text}</pdfaProperty:description></rdf:li>"""
    for name, text in (("DocumentFileName", "The name of the embedded XML document"),
                       ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
                       ("Version", "The actual version of the standard applying to the embedded XML document"),
                       ("ConformanceLevel", "The conformance level of the embedded XML document"))) + """</rdf:Seq>
</pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>
<rdf:Description rdf:about="" xmlns:fx='""" + FACTUR_X_URN + """'>
<fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>
<fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
</rdf:Description>""").encode()


def _factur_x_metadata(base):
    """WeasyPrint's metadata class, writing the Factur-X descriptions inside its own rdf:RDF
    (XMP allows one per packet; its xmp_metadata option would add a second)."""
    if "metadata" not in _shared:
        class FacturXMetadata(base):
            def generate_rdf_metadata(self, *args):
                rdf = super().generate_rdf_metadata(*args)
                return rdf.replace(b"</rdf:RDF>", FACTUR_X_XMP + b"</rdf:RDF>")
        _shared["metadata"] = FacturXMetadata
    return _shared["metadata"]


def _factur_x(weasyprint, fetcher, xml, when):
    """write_pdf options for a Factur-X: PDF/A-3b, factur-x.xml attached as its data. The
    attachment's dates are the document's (WeasyPrint would put "now": the same document must
    give the same bytes, see the cache above)."""
    import datetime
    when = when if isinstance(when, datetime.datetime) else datetime.datetime.combine(when, datetime.time())
    attachment = weasyprint.Attachment(string=xml, base_url=BASE_URL, url_fetcher=fetcher, name="factur-x.xml",
                                       description="Factur-X (EN 16931) invoice data", created=when,
                                       modified=when, relationship="Data")
    return {"pdf_variant": "pdf/a-3b", "attachments": [attachment]}


def _cache_dir():
    return current_app.config.get("PDF_CACHE_DIR") or os.path.join(current_app.instance_path, "pdf-cache")


def document_pdf(doc, language, settings, etag=None):
    """The PDF bytes of this document version in `language`: from the cache, or rendered and kept."""
    etag = etag or document_etag(doc, language, settings)
    return cached(f"{doc.id}-{language}-", etag, lambda: render_document(doc, language, settings))


def cached(stem, tag, render):
    """The PDF kept as `stem` + `tag`, or render() kept under that name (older files of the same
    stem dropped): the cache of document_pdf, for other sheets (app/statement.py)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stem + tag):
        raise ValueError(f"not a cache name: {stem + tag!r}")
    folder = _cache_dir()
    path = os.path.join(folder, f"{stem}{tag}.pdf")
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"%PDF-"):
            return data
    except FileNotFoundError:
        pass
    data = render()
    _store(folder, path, data, stem)
    return data


def _store(folder, path, data, stem):
    """Write atomically (a reader sees the whole file or none), then drop what is outdated."""
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pdf")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
        for old in glob.glob(os.path.join(glob.escape(folder), glob.escape(stem) + "*.pdf")):
            if old != path:
                _remove(old)
        _prune(folder, current_app.config.get("PDF_CACHE_MAX_FILES", DEFAULT_MAX_FILES))
    except OSError:
        # A full or read-only disk costs a render next time, never the download itself.
        current_app.logger.exception("could not write the PDF cache in %s", folder)
        if tmp is not None:
            _remove(tmp)


def _prune(folder, max_files):
    """Keep at most max_files PDFs, the oldest written go first; drop temporary files that a
    worker killed mid-write left behind."""
    entries, stale = [], time.time() - 3600
    for entry in os.scandir(folder):
        if entry.name.startswith(".tmp-"):
            if entry.stat().st_mtime < stale:
                _remove(entry.path)
        elif entry.name.endswith(".pdf"):
            entries.append(entry)
    if len(entries) <= max_files:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[:len(entries) - max_files]:
        _remove(entry.path)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass   # another worker pruned it first


def safe_filename(number, suffix=".pdf"):
    """(ASCII file name, UTF-8 file name or None) for a staff-typed document number.

    Only letters, digits, dots, dashes and underscores survive; anything else (quotes, newlines,
    slashes) becomes "_". The UTF-8 form keeps non-ASCII letters and is percent-encoded in the
    header, so it cannot carry those characters either."""
    def clean(text, keep):
        text = re.sub(r"_+", "_", "".join(c if keep(c) else "_" for c in text)).strip("._-")
        return text[:80] or "document"
    ascii_name = clean(number, lambda c: c.isascii() and (c.isalnum() or c in "._-")) + suffix
    utf8_name = clean(number, lambda c: c.isalnum() or c in "._-") + suffix
    return ascii_name, (utf8_name if utf8_name != ascii_name else None)
