# Sourced by scripts/serve and scripts/test: make .venv with Python >= 3.11 and
# install trailkeeper into it (again only when pyproject.toml, the build hook or the C
# sources changed: the editable install compiles trailkeeper._native in place).
set -euo pipefail
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "trailkeeper needs Python 3.11 or newer (found $("$PYTHON" --version))" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "python venv is missing: on Debian run 'apt-get install python3-venv'" >&2
    exit 1
  }
fi
stamp=.venv/.trailkeeper-installed
if [ ! -f "$stamp" ] || [ -n "$(find pyproject.toml hatch_build.py src/native -newer "$stamp" 2>/dev/null)" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
