#!/usr/bin/env bash
# Run the test suite against transformers 4.x (the course supports 4.x and 5.x).
#
#   bash scripts/test_transformers4.sh                       # everything: tests/ and the notebooks (nbval)
#   bash scripts/test_transformers4.sh -m "not slow and not browser"   # the unit tier only
#
# Creates (or reuses) a separate, clean virtual environment .venv-tf4 (no system
# site-packages), installs torch==$TORCH_VERSION (override with TORCH_SPEC, as in
# course.sh), then requirements.txt with transformers pinned to $TRANSFORMERS_VERSION
# (the last 4.x release), then this package, and runs in it what `bash course.sh test` runs:
# `pytest -n auto --dist loadscope --nbval notebooks/ tests` (the notebooks first: the longest items start first), or, given arguments, `pytest "$@"` only.
set -euo pipefail

cd "$(dirname "$0")/.."
TORCH_VERSION="2.13.0"
TORCH_SPEC="${TORCH_SPEC:-torch==$TORCH_VERSION}"
TRANSFORMERS_VERSION="${TRANSFORMERS_VERSION:-4.57.6}"
venv=".venv-tf4"

python_bin="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "test_transformers4.sh: creating $venv"
  "$python_bin" -m venv "$venv"
fi
python_bin="$PWD/$venv/bin/python"

pip_install() { "$python_bin" -m pip install --disable-pip-version-check -q "$@"; }

if "$python_bin" -c "import torch" 2>/dev/null; then
  echo "test_transformers4.sh: torch $("$python_bin" -c 'import torch; print(torch.__version__)') already installed; keeping it"
else
  echo "test_transformers4.sh: installing $TORCH_SPEC"
  # shellcheck disable=SC2086  # TORCH_SPEC may carry pip options
  pip_install $TORCH_SPEC
fi

# requirements.txt with its transformers line replaced by the 4.x pin
pinned_requirements="$(mktemp)"
trap 'rm -f "$pinned_requirements"' EXIT
sed -E "s/^transformers([^a-zA-Z0-9_-].*)?$/transformers==$TRANSFORMERS_VERSION/" requirements.txt >"$pinned_requirements"
grep -q "^transformers==$TRANSFORMERS_VERSION$" "$pinned_requirements" || {
  echo "test_transformers4.sh: no 'transformers' line found in requirements.txt to pin" >&2
  exit 1
}
pip_install -r "$pinned_requirements"
pip_install --no-deps -e .

installed="$("$python_bin" -c 'import transformers; print(transformers.__version__)')"
if [ "$installed" != "$TRANSFORMERS_VERSION" ]; then
  echo "test_transformers4.sh: expected transformers $TRANSFORMERS_VERSION in $venv, found $installed" >&2
  exit 1
fi
echo "test_transformers4.sh: transformers $installed, torch $("$python_bin" -c 'import torch; print(torch.__version__)')"

if [ "$#" -gt 0 ]; then
  exec "$python_bin" -m pytest "$@"
fi
exec "$python_bin" -m pytest -n auto --dist loadscope --nbval notebooks/ tests
