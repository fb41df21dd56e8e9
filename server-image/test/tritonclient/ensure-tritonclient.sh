#!/usr/bin/env bash
# Makes sure Triton's own Python client (tritonclient[http], from PyPI) is installed, and prints the path of the
# Python that has it. Installed once into a virtualenv outside the repository:
#   $MODELSHIP_CACHE/tritonclient-venv (MODELSHIP_CACHE defaults to ~/.cache/modelship); about a minute the first time.
set -euo pipefail

TRITONCLIENT_VERSION=2.73.0
cache="${MODELSHIP_CACHE:-$HOME/.cache/modelship}"
venv="$cache/tritonclient-venv"
want="tritonclient[http]==$TRITONCLIENT_VERSION"

die() { echo "ensure-tritonclient: $*" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.tritonclient-venv.lock"
flock 9

if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.modelship-installed" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin/python"
  exit 0
fi
command -v python3 >/dev/null || die "python3 (>= 3.9, with venv) is required to install tritonclient from PyPI"
echo "ensure-tritonclient: installing $want into $venv (once; about a minute)" >&2
rm -rf "$venv"
python3 -m venv "$venv" >&2 || die "could not create a virtualenv (Debian/Ubuntu: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$want" >&2 ||
  die "pip could not install $want; check access to PyPI"
"$venv/bin/python" -c 'import tritonclient.http' || die "$want installed but does not import"
echo "$want" >"$venv/.modelship-installed"
echo "$venv/bin/python"
