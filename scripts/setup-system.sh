#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, only those that are missing.
# chromium drives the end-to-end tests; ripgrep, the krb5/secret/x11/xkbfile headers build code-server.
set -uo pipefail
PACKAGES=(chromium ripgrep libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev cmake g++)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "Debian packages present: ${PACKAGES[*]}"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-system: missing Debian packages (${missing[*]}) and no root or sudo to install them; install them and run again."; exit 1; }
  SUDO=sudo
fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq >/tmp/internalize-apt.log 2>&1 || { echo "setup-system: 'apt-get update' failed (see /tmp/internalize-apt.log)."; exit 1; }
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >>/tmp/internalize-apt.log 2>&1 \
  || { echo "setup-system: 'apt-get install ${missing[*]}' failed (see /tmp/internalize-apt.log)."; exit 1; }
echo "Installed: ${missing[*]}"
