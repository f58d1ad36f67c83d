"""Stylesheets served minified.

The customer's first load (summary HTML, app.css, HTMX) has a budget of 25 KB gzipped, and the
comments that explain app.css's rules are a fifth of it (9.0 → 6.6 KB gzipped without comments
and spaces). The sources keep their comments; the answer drops them, minified by rcssmin (a
small, long-kept C minifier) once per file version and worker. Other static files are served by
Flask as they are.
"""
import functools
import hashlib
import io
import os

import rcssmin
from flask import Flask, abort, send_file
from werkzeug.security import safe_join


@functools.lru_cache(maxsize=16)
def minified(path, mtime_ns):
    """The minified bytes of a stylesheet and their ETag; mtime_ns keys a changed file afresh."""
    with open(path, encoding="utf-8") as f:
        data = rcssmin.cssmin(f.read()).encode()
    return data, hashlib.sha256(data).hexdigest()[:32]


class PortalFlask(Flask):
    def send_static_file(self, filename):
        if not filename.endswith(".css"):
            return super().send_static_file(filename)
        path = safe_join(self.static_folder, filename)
        if path is None or not os.path.isfile(path):
            abort(404)
        stat = os.stat(path)
        data, etag = minified(path, stat.st_mtime_ns)
        return send_file(io.BytesIO(data), mimetype="text/css", etag=etag, last_modified=stat.st_mtime,
                         max_age=self.get_send_file_max_age(filename), conditional=True)
