#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests when it is missing, and prints its path.
# The tests drive it headless through Playwright and never download a browser of their own.
set -euo pipefail

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
"$chromium" --version >&2
echo "$chromium"
