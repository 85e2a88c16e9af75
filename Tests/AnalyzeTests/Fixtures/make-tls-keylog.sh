#!/bin/sh
# Records the TLS fixtures with their key logs: curl --http2 against nghttpd with a
# certificate made here, captured by tcpdump on loopback in a private network namespace.
#   tls12-keylog.pcap + .keys  TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, two GETs (200, 404)
#   tls13-keylog.pcap + .keys  TLS 1.3, TLS_AES_128_GCM_SHA256, same requests (after a
#                              HelloRetryRequest: nghttpd asks curl for another key share)
#   tls13-keylog-dsb.pcapng    the same with its key log in a pcapng Decryption Secrets Block
# Run as root from this directory: sh make-tls-keylog.sh
# Each capture's expectations come from tshark with the same key log:
#   tshark -r F -o tls.keylog_file:F.keys -Y http2 -T fields -e http2.type -e http2.headers.status
set -eu
out=$(pwd)
tmp=$(mktemp -d)
ns=cdfix-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 3650 -subj /CN=tls.cdtest 2>/dev/null
mkdir "$tmp/www"; echo hello > "$tmp/www/index.html"

record() { # name tls-options...
    name=$1; shift
    rm -f "$tmp/$name.keys"
    ip netns exec "$ns" nghttpd -a 127.0.0.1 -d "$tmp/www" 8443 "$tmp/key.pem" "$tmp/cert.pem" >/dev/null 2>&1 &
    srv=$!
    ip netns exec "$ns" tcpdump -i lo --immediate-mode -U -w "$tmp/$name.pcap" tcp port 8443 2>"$tmp/td.err" &
    td=$!
    until grep -q "listening on" "$tmp/td.err"; do sleep 0.1; done
    until ip netns exec "$ns" ss -Hltn sport = 8443 | grep -q 8443; do sleep 0.1; done
    SSLKEYLOGFILE="$tmp/$name.keys" ip netns exec "$ns" curl -sk --http2 "$@" \
        --resolve tls.cdtest:8443:127.0.0.1 https://tls.cdtest:8443/index.html https://tls.cdtest:8443/missing -o /dev/null -o /dev/null
    sleep 1; last=-1
    while [ "$(stat -c %s "$tmp/$name.pcap")" != "$last" ]; do last=$(stat -c %s "$tmp/$name.pcap"); sleep 0.5; done
    kill -INT $td; wait $td || true
    kill $srv; wait $srv 2>/dev/null || true
    cp "$tmp/$name.pcap" "$tmp/$name.keys" "$out/"
}
record tls12-keylog --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
record tls13-keylog --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
# The TLS 1.3 capture again as pcapng with its key log inside (a Decryption Secrets Block).
editcap --inject-secrets tls,"$out/tls13-keylog.keys" "$out/tls13-keylog.pcap" "$out/tls13-keylog-dsb.pcapng"
