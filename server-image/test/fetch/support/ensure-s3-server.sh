#!/usr/bin/env bash
# Makes sure the S3-compatible test server (moto, from PyPI) is installed, and prints the path of its
# moto_server executable on stdout. It lives in a virtualenv outside the repository, installed once:
#   $MODELSHIP_CACHE/moto-venv   (MODELSHIP_CACHE defaults to ~/.cache/modelship)
# The first run needs Python >= 3.9 with the venv module and access to PyPI; it takes 10 to 30 seconds.
set -euo pipefail

# moto's S3 and IAM plus what its server needs (Flask). The full moto[server] extra pulls in every service's
# dependencies (cfn-lint, sympy, docker, ...): 320 MB instead of 140 MB, and twice the install time.
packages=("moto[s3]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5")
cache="${MODELSHIP_CACHE:-$HOME/.cache/modelship}"
venv="$cache/moto-venv"
stamp="$venv/.modelship-installed"
want="${packages[*]}"

die() { echo "ensure-s3-server: $*" >&2; exit 1; }

mkdir -p "$cache"
# Parallel test runs would otherwise install into the same venv at once.
exec 9>"$cache/.moto-venv.lock"
flock 9

if [ -x "$venv/bin/moto_server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin/moto_server"
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
[ -n "$python" ] || die "Python >= 3.9 is required to run the S3-compatible test server (moto). Install it (Debian/Ubuntu: apt-get install python3 python3-venv) and run the tests again."

echo "ensure-s3-server: installing $want into $venv (once; 10 to 30 seconds)" >&2
rm -rf "$venv"
"$python" -m venv "$venv" >&2 ||
  die "could not create a virtualenv with $python. Install the venv module (Debian/Ubuntu: apt-get install python3-venv) and run the tests again."
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${packages[@]}" >&2 ||
  die "pip could not install $want; check access to PyPI (or to the index configured for pip) and run the tests again"
[ -x "$venv/bin/moto_server" ] || die "$want installed but $venv/bin/moto_server is missing"
echo "$want" >"$stamp"
echo "$venv/bin/moto_server"
