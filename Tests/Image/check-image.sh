#!/usr/bin/env bash
# check-image.sh IMAGE: run conndiag inside the image. podman run when it works; otherwise
# (this sandbox: crun cannot set RLIMIT_NPROC) a working container's root file system is
# mounted with buildah and entered with unshare + chroot (a fresh /proc, an empty
# environment), so only the image's files are used: --version, and analyze of a fixture
# capture copied in.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:?usage: check-image.sh IMAGE}
fail() { echo "check-image: $*" >&2; exit 1; }
ctr=$(buildah from "$image")
mnt=""
cleanup() { [ -n "$mnt" ] && buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT

if command -v podman >/dev/null && podman run --rm "$image" --version >/dev/null 2>&1; then
    how=podman
    version=$(podman run --rm "$image" --version)
    analyze=$(podman run --rm -v "$PWD/Tests/AnalyzeTests/Fixtures:/fixtures:ro" "$image" analyze /fixtures/syn-blackhole.pcap --format json || true)
else
    how="buildah mount + chroot"
    mnt=$(buildah mount "$ctr")
    # Exactly the binary, libraries and data make-rootfs.sh put there: nothing else.
    extra=$(cd "$mnt" && find . -type f ! -path './usr/bin/conndiag' ! -path './lib*' ! -path './usr/lib*' \
            ! -path './etc/ssl/certs/ca-certificates.crt' ! -path './etc/nsswitch.conf' ! -path './usr/share/doc/*' ! -path './fixtures/*')
    [ -z "$extra" ] || fail "unexpected files in the image: $extra"
    mkdir -p "$mnt/fixtures" && cp Tests/AnalyzeTests/Fixtures/syn-blackhole.pcap "$mnt/fixtures/"
    # A container runtime mounts /proc; so does this, in a private mount and pid namespace:
    # the Swift runtime reads the command line from /proc/self/cmdline.
    inside() { env -i /usr/bin/unshare --fork --pid --mount --mount-proc="$mnt/proc" /usr/sbin/chroot "$mnt" "$@"; }
    version=$(inside /usr/bin/conndiag --version)
    analyze=$(inside /usr/bin/conndiag analyze /fixtures/syn-blackhole.pcap --format json || true)
    rm -rf "$mnt/fixtures"
fi
echo "$version" | head -1 | grep -q "^conndiag $(cat VERSION) " || fail "--version in the image: $version"
echo "$analyze" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["command"]=="analyze" and d["connections"], d' \
    || fail "analyze in the image: $analyze"
size=$(buildah inspect --format '{{.FromImageID}}' "$ctr" >/dev/null 2>&1; buildah images --format '{{.Size}}' "$image" | head -1)
echo "check-image: ok ($how: --version, analyze; image $image, $size)"
