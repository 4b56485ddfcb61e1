#!/bin/sh
# Wheels that PyPI does not publish for armv7l (cffi >= 2, which cryptography needs; PyYAML), built natively
# in an armhf Debian 12 root under qemu-user-static, from their PyPI source releases. pip runs on the host to
# fetch the sources and the build tools (the machine's own index settings and certificates); the armhf root
# builds offline from them. `make deb ARCH=armhf`
# passes the output directory to scripts/build_deb.py as --find-links.
#
# Usage: scripts/build_armhf_wheels.sh OUT_DIR    (root; needs mmdebstrap, qemu-user-static, binfmt_misc)
# The armhf build root is cached as $EVSE_DEB_CACHE/bookworm-armhf-build.tar (default /var/tmp/evse-deb).
# The wheels link against Debian's libffi8 and libyaml-0-2: scripts/build_deb.py adds them to Depends.
set -eu

OUT=$(realpath -m "$1")
CACHE=${EVSE_DEB_CACHE:-/var/tmp/evse-deb}
TARBALL=$CACHE/bookworm-armhf-build.tar
# The version floors of pyproject.toml and cryptography's own requirement (cffi >= 2.0).
REQUIREMENTS="cffi>=2.0 pyyaml>=6"

mkdir -p "$CACHE" "$OUT"
if [ ! -f "$TARBALL" ]; then
    mmdebstrap --arch=armhf --variant=apt \
        --include=build-essential,python3-dev,python3-venv,libffi-dev,libyaml-dev,ca-certificates \
        bookworm "$CACHE/bookworm-armhf-build.partial.tar"  # mmdebstrap picks the format by extension
    mv "$CACHE/bookworm-armhf-build.partial.tar" "$TARBALL"
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/evse-armhf-build.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
tar -C "$ROOT" -xf "$TARBALL"
mkdir -p "$ROOT/out" "$ROOT/src"
PIP="${PYTHON:-python3} -m pip"
$PIP download --quiet --no-deps --no-binary cffi,pyyaml --dest "$ROOT/src" $REQUIREMENTS
# The build tools, as wheels for the target (all pure Python or armv7l builds from PyPI).
$PIP download --quiet --only-binary :all: --dest "$ROOT/src" --python-version 3.11 --implementation cp \
    --platform manylinux_2_31_armv7l --platform manylinux_2_17_armv7l --platform linux_armv7l \
    setuptools wheel Cython

# A private mount namespace: /proc and the output bind mount go away with the command.
unshare --mount --propagation private sh -eu -c "
    mount -t proc proc '$ROOT/proc'
    mount --bind '$OUT' '$ROOT/out'
    chroot '$ROOT' env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 sh -eu -c '
        python3 -m venv /build
        /build/bin/pip install --quiet --upgrade --no-index --find-links /src setuptools wheel Cython
        /build/bin/pip wheel --quiet --no-index --find-links /src --no-build-isolation --no-deps \\
            --wheel-dir /out $REQUIREMENTS
    '
"
ls "$OUT"
