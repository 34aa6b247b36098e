#!/usr/bin/env bash
# setup.sh - install everything minidocker needs on Debian 12, as root.
#
# Idempotent: installs only the packages that are missing, and runs
# `apt-get update` only when something must be installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run me as root (containers need root: namespaces, mounts, cgroups)" >&2
  exit 1
fi

packages=(
  # build
  build-essential cmake git pkg-config ccache
  # libraries (ARCHITECTURE.md, "Dependencies")
  libcli11-dev libfmt-dev libgtest-dev nlohmann-json3-dev libarchive-dev libssl-dev libseccomp-dev
  # ... and what a static link of libarchive needs (pkg-config --static --libs libarchive;
  # libxml2 is named there, but chapter 04 keeps it out of the programs)
  libacl1-dev libzstd-dev liblz4-dev libb2-dev libbz2-dev liblzma-dev zlib1g-dev nettle-dev libxml2-dev libicu-dev
  # the book, and the test that renders it in a real browser
  # (fonts-noto-cjk: the glossary's Chinese terms)
  doxygen graphviz chromium imagemagick fonts-noto-cjk
  # images are made from the host's static busybox
  busybox-static
  # test peers: nsenter, lsns, unshare; ip; the other runtimes; benchmarks
  util-linux procps iproute2 crun runc umoci skopeo hyperfine tmux jq
  # the code habits: formatting and lint
  clang-format clang-tidy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages are installed"
  exit 0
fi
echo "setup.sh: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "setup.sh: done"
