"""Images staff upload (product images, the logo): checked by their bytes, never by their name,
and served back under a policy that lets them be nothing but an image."""
import hashlib

from flask import make_response, request
from flask_babel import gettext as _


def sniff_image(head):
    """The image type the first bytes announce, whatever the file is called; None if none."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_images(form, name, files, types, max_bytes):
    """Check uploaded files by their bytes; returns [(content_type, data)] or None with an error."""
    found = []
    for upload in files:
        if not upload or not upload.filename:
            continue
        data = upload.stream.read(max_bytes + 1)   # never more than one byte past the limit
        if len(data) > max_bytes:
            return form.error(name, _("%(file)s is larger than %(size)s.", file=upload.filename,
                                      size=f"{max_bytes // (1024 * 1024)} MB"))
        kind = sniff_image(data[:16])
        if kind not in types:
            return form.error(name, _("%(file)s is not an image of an accepted type (%(types)s).",
                                      file=upload.filename, types=", ".join(types.values())))
        found.append((kind, data))
    return found


def image_response(data, content_type, cache="private, max-age=300"):
    """Serve stored image bytes under a strict policy, revalidated by ETag."""
    resp = make_response(bytes(data))
    resp.mimetype = content_type
    resp.headers["Cache-Control"] = cache
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Content-Disposition"] = "inline"
    resp.set_etag(hashlib.sha256(resp.get_data()).hexdigest()[:32])
    return resp.make_conditional(request)
