"""The approximate place of an IP address, for the account page's signed-in devices (issue 21).

Read only from a local database in MaxMind's format (GeoLite2-City, or DB-IP's free "IP to City
Lite"), at the path GEOIP_DATABASE names, when the business has put one there: nothing is looked
up over the network, and without the file the devices list shows just the IP. The reader is
opened once per file version (a newer file, same path, is picked up by its modification time)."""
import ipaddress
import os
import threading

import maxminddb

_lock = threading.Lock()
_readers = {}   # path -> (mtime, reader)


def _reader(path):
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    with _lock:
        cached = _readers.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            reader = maxminddb.open_database(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError):
            return None
        _readers[path] = (mtime, reader)
        return reader


def _name(record, key, language):
    found = record.get(key)
    names = found.get("names") if isinstance(found, dict) else None
    if not isinstance(names, dict):
        return ""
    return names.get(language) or names.get("en") or ""


def place(ip, database, language="en"):
    """"City, Country" (or the part known) in the language when the database has it, else English;
    "" for no database, a private or malformed address, or an address the database does not know."""
    if not ip or not database:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if not address.is_global:
        return ""
    reader = _reader(database)
    if reader is None:
        return ""
    try:
        record = reader.get(str(address))
    except (ValueError, maxminddb.InvalidDatabaseError):
        return ""
    if not isinstance(record, dict):
        return ""
    return ", ".join(part for part in (_name(record, "city", language), _name(record, "country", language)) if part)
