#!/usr/bin/env bash
# make-rootfs.sh BINARY ROOTFS: the root file system of the FROM-scratch image — the binary
# at /usr/bin/conndiag, every shared library ldd resolves for it (at the path ldd names),
# the dynamic loader, the CA bundle for TLS probes, /tmp, /etc/nsswitch.conf, the licences
# (LICENSE, NOTICE, and the Debian copyright file of each library's package), and the empty
# mount points a runtime fills (/proc: the Swift runtime reads its arguments there).
set -euo pipefail
bin=${1:?usage: make-rootfs.sh BINARY ROOTFS}
root=${2:?usage: make-rootfs.sh BINARY ROOTFS}
cd "$(dirname "$0")/.."
rm -rf "$root" && mkdir -p "$root/usr/bin" "$root/tmp" "$root/proc" "$root/dev" "$root/sys" "$root/etc/ssl/certs" "$root/usr/share/doc/conndiag"
chmod 1777 "$root/tmp"
install -m 755 "$bin" "$root/usr/bin/conndiag"

# Libraries by the paths the loader will look them up at, copied as files (-L), plus the
# loader (ldd's "/lib64/ld-linux-x86-64.so.2 (0x...)" line).
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }')
[ -n "$libs" ] || { echo "make-rootfs: ldd found no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
    # The licence of the package the library came from.
    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || pkg=""
    if [ -z "$pkg" ]; then pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || pkg=""; fi
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
        mkdir -p "$root/usr/share/doc/$pkg"
        cp "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright"
    fi
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
cp LICENSE NOTICE "$root/usr/share/doc/conndiag/"
echo "$libs" > "$root/usr/share/doc/conndiag/libraries.txt"
