#!/usr/bin/env bash
# Install everything the course needs, then open it or test it.
#
#   bash course.sh lab     # install, then open your own copies of the notebooks (my-notebooks/) in JupyterLab
#   COURSE_FAST=1 bash course.sh lab   # the same, in fast mode (fewer training messages)
#   bash course.sh test    # install, then run everything on every core: tests/ (unit, slow, browser) and nbval
#   bash course.sh test -m "not slow and not browser"   # install, then pytest with these arguments only
#   bash course.sh install # install only
#   bash course.sh doctor  # check this machine, in the course's environment
#   bash course.sh exercises  # install, then only make your own copies in my-notebooks/ (lab's first step)
#
# What is installed: requirements.txt (torch, then pyproject.toml's dependencies and its notebooks
# and test extras), then this package, editable. Once installed, a run needs no network: nothing
# is reinstalled while requirements.txt and pyproject.toml are unchanged (a stamp file in the
# environment remembers them).
#
# Where it installs: the active virtual environment or conda env if there is one,
# else ./.venv (created with --system-site-packages, so a torch you already have,
# such as a CUDA build, is seen and kept).
# torch: installed only when `import torch` fails (a torch you have, CUDA build or not, is kept), as
# torch==$TORCH_VERSION: on Linux without an NVIDIA GPU the CPU build, from PyTorch's CPU index (the
# default index when that one cannot be reached); with an NVIDIA GPU, on macOS and on Windows, from
# the default index. TORCH_SPEC overrides both, e.g. TORCH_SPEC="torch==2.13.0 --index-url <an index>".
set -euo pipefail

cd "$(dirname "$0")"
action="${1:-lab}"
case "$action" in
  lab|test|install|doctor|exercises) ;;
  *)
    echo "usage: bash course.sh [lab|test|install|doctor|exercises] (got '$action')" >&2
    exit 2
    ;;
esac
TORCH_VERSION="2.13.0"
TORCH_SPEC="${TORCH_SPEC:-}"
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"

python_bin="${PYTHON:-python3}"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "course.sh: creating .venv"
    "$python_bin" -m venv --system-site-packages .venv
  fi
  python_bin="$PWD/.venv/bin/python"
fi

"$python_bin" - <<'EOF'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"course.sh: Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
EOF

pip_install() { "$python_bin" -m pip install --disable-pip-version-check -q "$@"; }
pip_install_shown() { "$python_bin" -m pip install --disable-pip-version-check "$@"; }  # a long download: progress shown

# torch, when `import torch` fails. TORCH_SPEC, when set, says what to install. Otherwise, on Linux
# without an NVIDIA GPU (no nvidia-smi that runs), the CPU build from PyTorch's CPU index (a few
# hundred MB, where the default index's Linux build brings several GB of CUDA libraries); when that
# index does not answer within a few seconds, or the install from it fails, the default index. With
# an NVIDIA GPU, on macOS and on Windows: the default index.
install_torch() {
  if [ -n "$TORCH_SPEC" ]; then
    echo "course.sh: installing $TORCH_SPEC (from TORCH_SPEC)"
    # shellcheck disable=SC2086  # TORCH_SPEC may carry pip options
    pip_install_shown $TORCH_SPEC
  elif [ "$(uname -s)" = "Linux" ] && ! nvidia-smi >/dev/null 2>&1; then
    echo "course.sh: no NVIDIA GPU here, so installing the CPU build of torch==$TORCH_VERSION from $TORCH_CPU_INDEX"
    # does that index answer? (--isolated: only that index, not the pip configuration's other sources)
    if "$python_bin" -m pip index versions torch --isolated --index-url "$TORCH_CPU_INDEX" --timeout 5 \
         --retries 0 >/dev/null 2>&1 \
       && pip_install_shown --index-url "$TORCH_CPU_INDEX" "torch==$TORCH_VERSION"; then
      return 0
    fi
    echo "course.sh: PyTorch's CPU index could not be reached or used; installing torch==$TORCH_VERSION from the default index"
    pip_install_shown "torch==$TORCH_VERSION"
  else
    echo "course.sh: installing torch==$TORCH_VERSION from the default index"
    pip_install_shown "torch==$TORCH_VERSION"
  fi
}

# What was installed, and from which requirements: a launch that needs nothing new skips pip
# entirely, so `course.sh lab` starts in a room without Wi-Fi once the course is installed.
stamp="$("$python_bin" -c 'import sys; print(sys.prefix)')/.course-installed"
wanted="$(cat requirements.txt pyproject.toml | "$python_bin" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())') $PWD"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && "$python_bin" -c "import torch, course_utils" 2>/dev/null; then
  echo "course.sh: everything is installed already (delete $stamp to reinstall)"
else
  if "$python_bin" -c "import torch" 2>/dev/null; then
    echo "course.sh: torch $("$python_bin" -c 'import torch; print(torch.__version__)') already installed; keeping it"
  else
    install_torch
  fi
  pip_install -r requirements.txt
  pip_install --no-deps -e .
  echo "$wanted" > "$stamp"
fi

case "$action" in
  install)
    echo "course.sh: installed into $("$python_bin" -c 'import sys; print(sys.prefix)')"
    ;;
  lab|exercises)
    # The learner's own copies in my-notebooks/ (git-ignored): notebooks/ (the course, solutions shown)
    # and exercises/ (the same notebooks, solutions removed). Made once, never overwritten; the lab
    # serves only that folder, so opening or running a notebook leaves the checkout as it was.
    made=0
    for source in notebooks/[0-9]*.ipynb exercises/[0-9]*.ipynb; do
      if [ -f "$source" ] && [ ! -e "my-notebooks/$source" ]; then
        mkdir -p "my-notebooks/${source%/*}"
        cp "$source" "my-notebooks/$source"
        made=$((made + 1))
      fi
    done
    echo "course.sh: you work in your own copies in my-notebooks/ ($made new); they are never overwritten (delete one to get a fresh copy)"
    if [ "$action" = "exercises" ]; then
      exit 0
    fi
    shift || true  # any further arguments go to JupyterLab (--port 8899, --no-browser, ...)
    lab_args=(--ServerApp.root_dir="$PWD/my-notebooks" --LabApp.default_url=/lab/tree/exercises)
    if [ "$(id -u)" = "0" ]; then
      # JupyterLab refuses to start as root unless told to (containers, some cloud machines)
      echo "course.sh: running as root, so JupyterLab is started with --allow-root"
      lab_args+=(--allow-root)
    fi
    if [ "${COURSE_FAST:-}" = "1" ]; then
      echo "course.sh: fast mode (COURSE_FAST=1): the notebooks train on fewer messages"
    fi
    exec "$python_bin" -m jupyterlab "${lab_args[@]}" "$@"
    ;;
  doctor)
    exec "$python_bin" -m courseware doctor
    ;;
  test)
    if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "course.sh: installing Debian's chromium for the browser test"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
    fi
    shift || true
    if [ "$#" -gt 0 ]; then
      exec "$python_bin" -m pytest "$@"
    fi
    # Everything in one run on every core (pytest-xdist): every notebook under nbval, then all of
    # tests/ (the notebooks first, so the longest items start first). --dist loadscope keeps each
    # notebook's cells in order, and each test module, on one worker; conftest.py gives each
    # worker its share of the cores for torch's threads. xdist deals the first scopes out in turn
    # (first to worker 1, second to worker 2, ...), so the notebooks that train most come first and
    # in an order that spreads them: in file order, 04, 07 and 09 all went to one worker.
    notebooks=()
    for heavy in 04 07 05 08 09 06 00; do notebooks+=(notebooks/"$heavy"_*.ipynb); done
    for notebook in notebooks/[0-9]*.ipynb; do
      case " ${notebooks[*]} " in *" $notebook "*) ;; *) notebooks+=("$notebook") ;; esac
    done
    echo "course.sh: tests/ (unit, slow and browser tiers) and the notebooks (nbval), on every core"
    exec "$python_bin" -m pytest -n auto --dist loadscope --nbval "${notebooks[@]}" tests
    ;;
esac
