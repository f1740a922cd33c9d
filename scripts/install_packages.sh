#!/usr/bin/env bash
# Install the missing Debian/Ubuntu packages of the given groups of scripts/debian-packages.txt
# (the one list; see its header), with --no-install-recommends.
#
#   scripts/install_packages.sh GROUP...            install what is missing (root, or sudo)
#   scripts/install_packages.sh --missing GROUP...  print what would be installed, install nothing
#   scripts/install_packages.sh --print GROUP...    print every package of the groups, ignoring
#                                                   "unless": what a machine with nothing needs
#
# An entry "a|b" is the first of a, b that apt can install (rustc-web on Debian 12, rustc where
# there is no rustc-web); one already installed counts as present.
set -euo pipefail
list="$(cd "$(dirname "$0")" && pwd)/debian-packages.txt"

action=install
case "${1:-}" in
  --print) action=print; shift ;;
  --missing) action=missing; shift ;;
  -*) echo "install_packages.sh: unknown option $1 (use --print, --missing)" >&2; exit 2 ;;
esac
if [[ $# -eq 0 ]]; then
  echo "usage: install_packages.sh [--print|--missing] GROUP... (groups: $(grep -oE '^\[[a-z-]+\]' "$list" | tr -d '[]' | paste -sd' '))" >&2
  exit 2
fi

# parse the list: every package of the requested groups, with its "unless" command
packages=() unless=() groups=() group=""
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
  lineno=$((lineno + 1))
  read -r -a words <<< "${line%%#*}"
  [[ ${#words[@]} -eq 0 ]] && continue
  if [[ ${words[0]} =~ ^\[([a-z-]+)\]$ ]]; then
    group=${BASH_REMATCH[1]}; groups+=("$group"); continue
  fi
  if [[ ${#words[@]} -ne 1 && ( ${#words[@]} -ne 3 || ${words[1]} != unless ) ]]; then
    echo "install_packages.sh: $list:$lineno: expected '<package> [unless <command>]', got: $line" >&2
    exit 2
  fi
  [[ " $* " == *" $group "* ]] || continue
  packages+=("${words[0]}")
  unless+=("${words[2]:-}")
done < "$list"
for wanted in "$@"; do
  if [[ " ${groups[*]} " != *" $wanted "* ]]; then
    echo "install_packages.sh: unknown group '$wanted' (groups in $list: ${groups[*]})" >&2
    exit 2
  fi
done

# the alternatives of "a|b" entries that apt has a candidate version of (one apt-cache call,
# made when an "a|b" entry needs choosing)
installable=""
load_installable() {
  [[ -n $installable ]] && return
  installable=" "
  local alternatives
  alternatives=$(printf '%s\n' "${packages[@]}" | grep -F '|' | tr '|' ' ' || true)
  if [[ -n $alternatives ]] && command -v apt-cache >/dev/null; then
    # shellcheck disable=SC2086
    installable=" $(apt-cache policy $alternatives 2>/dev/null |
      awk '/^[^ ]/ {name = $1; sub(/:$/, "", name)} /^  Candidate: / && $2 != "(none)" {print name}' |
      paste -sd' ') "
  fi
}
candidate() {  # the first alternative of "a|b" apt can install (else the first)
  local alternative
  for alternative in ${1//|/ }; do
    [[ $installable == *" $alternative "* ]] && { echo "$alternative"; return; }
  done
  echo "${1%%|*}"
}

if [[ $action == print ]]; then
  load_installable
  for package in "${packages[@]}"; do
    [[ $package == *"|"* ]] && package=$(candidate "$package")
    echo "$package"
  done
  exit 0
fi

if ! command -v dpkg-query >/dev/null; then
  echo "install_packages.sh: not a Debian/Ubuntu system (no dpkg-query): install the equivalents" \
       "of these Debian packages yourself: ${packages[*]}" >&2
  exit 0
fi
# one query for all (it exits non-zero when a package is unknown to dpkg: that one is missing)
installed=" $({ dpkg-query -W -f='${Package}=${Status}\n' ${packages[*]//|/ } 2>/dev/null || true; } |
  sed -n 's/=install ok installed$//p' | paste -sd' ') "
missing=()
for i in "${!packages[@]}"; do
  [[ -n ${unless[$i]} ]] && command -v "${unless[$i]}" >/dev/null && continue
  present=""
  for alternative in ${packages[$i]//|/ }; do
    [[ $installed == *" $alternative "* ]] && present=$alternative
  done
  [[ -n $present ]] && continue
  package=${packages[$i]}
  if [[ $package == *"|"* ]]; then load_installable; package=$(candidate "$package"); fi
  missing+=("$package")
done
if [[ $action == missing ]]; then
  [[ ${#missing[@]} -gt 0 ]] && printf '%s\n' "${missing[@]}"
  exit 0
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "==> packages present ($*)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_packages.sh: missing ${missing[*]} and no apt-get: install them with your package manager" >&2
  exit 1
fi
SUDO=()
if [[ $(id -u) != 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "install_packages.sh: need root to install ${missing[*]}: run 'sudo apt-get install --no-install-recommends ${missing[*]}'" >&2
    exit 1
  fi
fi
echo "==> apt-get install --no-install-recommends ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
