#!/bin/sh
# Keep the gettext catalogs in step with the source.
#
#   sh scripts/translations.sh            extract, init missing languages, update, compile
#   sh scripts/translations.sh extract    only write translations/messages.pot
#   sh scripts/translations.sh update     extract, then init missing languages and update the .po files
#   sh scripts/translations.sh compile    only compile the .mo files (what `make` does)
#   sh scripts/translations.sh check      exit 1 if an update would change a catalog, then show statistics
#
# After `update`, translate every empty msgstr in translations/<lang>/LC_MESSAGES/messages.po
# (English included: its msgstr repeats the msgid) and run tests/test_translations.py, which fails on
# any untranslated, fuzzy or obsolete entry, or a placeholder that differs from its msgid.
set -eu
cd "$(dirname "$0")/.."

# The languages of app/config.py LANGUAGES.
LANGS="es en ca fr de it pt"
if [ -x .venv/bin/pybabel ]; then PYBABEL=${PYBABEL:-.venv/bin/pybabel}; else PYBABEL=${PYBABEL:-pybabel}; fi
POT=translations/messages.pot

extract() {
    # Keywords beyond babel's defaults (_, gettext, ngettext, pgettext, ...): the lazy forms used at
    # module level. Comments starting with TRANSLATORS: next to a string reach the catalogs.
    "$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
        --sort-by-file --project=customer-portal --copyright-holder="customer-portal contributors" \
        -o "$POT" .
}

update() {
    for lang in $LANGS; do
        if [ ! -f "translations/$lang/LC_MESSAGES/messages.po" ]; then
            "$PYBABEL" -q init -i "$POT" -d translations -l "$lang"
        fi
    done
    # No fuzzy guesses (a near-miss translation shown to customers is worse than a failing test) and
    # no obsolete (#~) entries: removed strings simply leave the catalogs.
    "$PYBABEL" -q update -i "$POT" -d translations --no-fuzzy-matching --ignore-obsolete
}

compile() {
    "$PYBABEL" -q compile -d translations
}

case "${1:-all}" in
    extract) extract ;;
    update) extract; update ;;
    compile) compile ;;
    check)
        extract
        "$PYBABEL" -q update -i "$POT" -d translations --no-fuzzy-matching --ignore-obsolete --check
        "$PYBABEL" compile -d translations --statistics 2>&1 | grep -v '^compiling' || true ;;
    all) extract; update; compile ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
esac
