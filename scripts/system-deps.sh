#!/bin/sh
# Installs the Debian packages the portal needs (WeasyPrint's Pango, HarfBuzz subsetting, a
# font) and, for `test`, Chromium for the browser tests; for `bench`, wrk. Installs only what is missing.
set -e
want="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
[ "$1" = "test" ] && want="$want chromium poppler-utils"
[ "$1" = "bench" ] && want="$want wrk"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  echo "installing Debian packages with sudo:$missing"
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing Debian packages:$missing"
  echo "install them as root: apt-get install$missing"
  exit 1
fi
