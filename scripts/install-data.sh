#!/usr/bin/env bash
# Installs what gankit reads from Debian packages when it is missing: Fashion-MNIST (dataset-fashion-mnist)
# and the DejaVu font that prompt grids are captioned in (fonts-dejavu-core: French accents).
# Safe to re-run; never fails the build (gankit says how to get the data when it is missing, and
# captions fall back to Pillow's font without accents).
set -u
want=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || want+=(dataset-fashion-mnist)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || want+=(fonts-dejavu-core)
if [ ${#want[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-data: no apt-get here; install ${want[*]} (Fashion-MNIST: the four IDX files and --set data.path=DIR)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-data: run as root: apt-get install ${want[*]}" >&2; exit 0
  fi
fi
echo "install-data: apt-get install ${want[*]}"
$sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null \
  || echo "install-data: could not install ${want[*]}; Fashion-MNIST runs and tests will be skipped" >&2
exit 0
