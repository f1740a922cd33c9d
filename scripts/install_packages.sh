#!/usr/bin/env bash
# Install the missing Debian/Ubuntu packages of the given groups of scripts/debian-packages.txt
# (the one list; see its header), with --no-install-recommends.
#
#   scripts/install_packages.sh GROUP...            install what is missing (root, or sudo)
#   scripts/install_packages.sh --missing GROUP...  print what would be installed, install nothing
#   scripts/install_packages.sh --print GROUP...    print every package of the groups, ignoring
#                                                   "unless": what a machine with nothing needs
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

if [[ $action == print ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

if ! command -v dpkg-query >/dev/null; then
  echo "install_packages.sh: not a Debian/Ubuntu system (no dpkg-query): install the equivalents" \
       "of these Debian packages yourself: ${packages[*]}" >&2
  exit 0
fi
# one query for all (it exits non-zero when a package is unknown to dpkg: that one is missing)
installed=" $({ dpkg-query -W -f='${Package}=${Status}\n' "${packages[@]}" 2>/dev/null || true; } |
  sed -n 's/=install ok installed$//p' | paste -sd' ') "
missing=()
for i in "${!packages[@]}"; do
  [[ -n ${unless[$i]} ]] && command -v "${unless[$i]}" >/dev/null && continue
  [[ $installed == *" ${packages[$i]} "* ]] || missing+=("${packages[$i]}")
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
