#!/usr/bin/env bash
# Set up octopack in a local virtual environment: the base Debian packages (python3-venv, git),
# CPU torch first, then the package with its pinned constraints, then (with --toolchains) the
# HumanEvalPack toolchains and their caches, and (with --test-tools) the tools the tests use
# (headless Chromium). The Debian packages of each step are a group of scripts/debian-packages.txt.
#
#   scripts/setup.sh [--toolchains] [--test-tools] [--extras test,serve,...]
#
# Environment:
#   VENV             virtual environment directory (default: .venv)
#   PYTHON           interpreter used to create it (default: python3.11, else python3)
#   TORCH_INDEX_URL  extra index for torch, e.g. https://download.pytorch.org/whl/cpu to get the
#                    CPU build on a machine where pip would otherwise pick the CUDA build
set -euo pipefail
cd "$(dirname "$0")/.."

toolchains=0
test_tools=0
extras="test,serve,plots,qlora,toolchains"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --toolchains) toolchains=1 ;;
    --test-tools) test_tools=1 ;;
    --extras) extras="$2"; shift ;;
    *) echo "setup.sh: unknown option $1 (use --toolchains, --test-tools, --extras LIST)" >&2; exit 2 ;;
  esac
  shift
done

# python3, python3-venv, git: where they cannot be installed (no root, not Debian) the checks
# below name what is missing
scripts/install_packages.sh base || echo "setup.sh: continuing without the base packages" >&2
command -v git >/dev/null ||
  echo "setup.sh: warning: git not found: CommitPack mining and the tests need it (apt-get install git)" >&2

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
if [[ -z "$PYTHON" ]]; then
  echo "setup.sh: no python3 found: install Python 3.11 (apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup.sh: $PYTHON is $("$PYTHON" --version 2>&1); octopack needs Python >= 3.10 (tested: 3.11)" >&2
  exit 1
fi

stamp="$VENV/.octopack-installed"
want="$(cat setup.cfg constraints.txt | sha256sum | cut -c1-16) $extras"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "==> creating virtual environment $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || {
    echo "setup.sh: could not create a venv: install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
fi
PIP=("$VENV/bin/python" -m pip)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  torch_pin=$(grep -E '^torch==' constraints.txt)
  echo "==> installing $torch_pin first (CPU build where available)"
  index_args=()
  [[ -n "${TORCH_INDEX_URL:-}" ]] && index_args=(--extra-index-url "$TORCH_INDEX_URL")
  "${PIP[@]}" install -q "${index_args[@]}" "$torch_pin"
  echo "==> installing octopack[$extras] with constraints.txt"
  "${PIP[@]}" install -q -c constraints.txt -e ".[$extras]"
  echo "$want" > "$stamp"
else
  echo "==> $VENV is up to date"
fi

if [[ $toolchains == 1 ]]; then
  scripts/install_toolchains.sh
  echo "==> preparing HumanEvalPack toolchains (compile caches, prebuilt crates, warm Go cache)"
  PATH="$PWD/$VENV/bin:$PATH" "$VENV/bin/python" -m humanevalpack_metric.toolchains prepare
fi
if [[ $test_tools == 1 ]]; then
  scripts/install_packages.sh test
fi
