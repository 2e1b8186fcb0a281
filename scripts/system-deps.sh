#!/usr/bin/env bash
# System packages the tests need: Fashion-MNIST (Debian's IDX files) and headless Chromium (HTML report test).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
need=()
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "system deps ok: fashion-mnist $(ls /usr/share/datasets/fashion-mnist | wc -l) files, $(chromium --version 2>/dev/null || echo 'no chromium')"
