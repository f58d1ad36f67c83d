"""Fill empty msgstrs from a JSON file {msgid: {lang: text}} (after `translations.sh update`).

    .venv/bin/python scripts/fill_translations.py new-strings.json

English repeats the msgid when the file gives none. Entries already translated are left alone."""
import json
import sys

from babel.messages.pofile import read_po, write_po

LANGS = ("es", "en", "ca", "fr", "de", "it", "pt")


def main(path):
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
    for lang in LANGS:
        po = f"translations/{lang}/LC_MESSAGES/messages.po"
        with open(po, "rb") as f:
            catalog = read_po(f, locale=lang)
        for message in catalog:
            texts = table.get(message.id if isinstance(message.id, str) else message.id[0])
            if not texts or message.string:
                continue
            message.string = texts.get(lang) or (message.id if lang == "en" else "")
            message.flags.discard("fuzzy")
        with open(po, "wb") as f:
            write_po(f, catalog, sort_by_file=True, width=76)


if __name__ == "__main__":
    main(sys.argv[1])
