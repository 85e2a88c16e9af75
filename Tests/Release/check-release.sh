#!/usr/bin/env bash
# check-release.sh TARBALL: unpack the release and run it as on a machine without Swift.
# - ldd: no libswift*, and every shared library is glibc's or one the README names
#   (libpcap, libnghttp2, libssl, libcrypto, and what those pull in);
# - env -i, LD_LIBRARY_PATH empty: --version, analyze of a fixture capture, and (root, or
#   always with CI=true) syn-timeout inside a network namespace made here.
set -euo pipefail
cd "$(dirname "$0")/../.."
tarball=${1:?usage: check-release.sh TARBALL}
fail() { echo "check-release: $*" >&2; exit 1; }
dir=$(mktemp -d /tmp/conndiag-release.XXXXXX)
ns=""
cleanup() { [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

tar -C "$dir" -xzf "$tarball"
name=$(basename "$tarball" .tar.gz)
bin="$dir/$name/bin/conndiag"
[ -x "$bin" ] || fail "no bin/conndiag in $tarball"
[[ "$name" == "conndiag-$(cat VERSION)-linux-$(uname -m)" ]] || fail "release name $name does not follow VERSION"
for f in LICENSE NOTICE README.md CHANGELOG.md share/man/man1/conndiag.1 share/completions/conndiag.bash; do
    [ -f "$dir/$name/$f" ] || fail "missing $f"
done

run() { env -i LD_LIBRARY_PATH= "$bin" "$@"; }

libs=$(env -i LD_LIBRARY_PATH= ldd "$bin")
echo "$libs" | grep -qi swift && fail "links the Swift runtime dynamically: $libs"
# Direct needs (NEEDED): the four libraries plus glibc and the C++/gcc runtime glibc systems have.
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $needed; do
    case "$lib" in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libutil.so.*|ld-linux*) ;;
        libpcap.so.*|libnghttp2.so.*|libssl.so.*|libcrypto.so.*) ;;
        libstdc++.so.*|libgcc_s.so.*) ;;
        *) fail "unexpected shared library $lib (NEEDED): $needed" ;;
    esac
done
echo "$libs" | grep -q "not found" && fail "a library is missing: $libs"

version=$(run --version)
echo "$version" | head -1 | grep -q "^conndiag $(cat VERSION) " || fail "--version: $version"
echo "$version" | grep -q "^libpcap: " || fail "--version lacks libpcap: $version"

# analyze of a fixture: exit 1 (the blackholed SYNs are a finding), a conndiag/1 document.
set +e
out=$(run analyze "$PWD/Tests/AnalyzeTests/Fixtures/syn-blackhole.pcap" --format json); rc=$?
set -e
[ "$rc" -le 1 ] || fail "analyze exited $rc"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema"]=="conndiag/1" and d["command"]=="analyze", d' \
    || fail "analyze output: $out"

if [ "$(id -u)" = 0 ] || [ "${CI:-}" = true ]; then
    ns="cdtest-$$-release"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    set +e
    out=$(run syn-timeout 127.0.0.1:1 --netns "$ns" --syncnt 1 --format json); rc=$?
    set -e
    [ "$rc" = 1 ] || fail "syn-timeout in $ns exited $rc: $out"
    echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["outcome"]["status"]=="refused" and d["capture"] is True, d["outcome"]' \
        || fail "syn-timeout output: $out"
    echo "check-release: ok (ldd: $(echo $needed); --version, analyze, syn-timeout in $ns)"
else
    echo "check-release: ok (ldd, --version, analyze); syn-timeout in a namespace skipped: not root"
fi
