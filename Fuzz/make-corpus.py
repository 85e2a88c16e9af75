#!/usr/bin/env python3
"""Writes the seed corpus in Fuzz/Corpus/<target>/ from the lab captures in
Tests/AnalyzeTests/Fixtures (run from the repository root: python3 Fuzz/make-corpus.py).

Each fuzzer's input format is described at the top of its source file. The seeds:
  FuzzPacketDecoder  packets of the captures re-framed for every link type (Ethernet with
                     and without VLAN, SLL, SLL2, raw, NULL, LOOP, IPv4/IPv6 link types),
                     the same segments over IPv6, ICMP/ICMPv6 errors quoting them, TSO frames
  FuzzTCPReassembly  each connection of the captures as segment records, plus variants with
                     segments reordered, repeated and missing
  FuzzHTTP2Frames    each direction of the HTTP/2 connections, reassembled, from the start
                     and mid-connection, plus a few hand-made frame sequences
                     and every encapsulation (MPLS, QinQ, PPPoE, IP-in-IP, 6in4, GRE, ERSPAN,
                     VXLAN, Geneve, MPLS over UDP) and NFLOG around one segment
  FuzzCaptureReader  the small captures whole, the big one cut, pcapng, big-endian, SLL2 and
                     raw-IP variants, pcapng with interfaces of different link types
  FuzzPcapngReader   pcapng files: the fixtures' first packets, mixed link types (Ethernet,
                     raw IP, SLL2, NFLOG), both byte orders, binary time resolution, a Simple
                     Packet Block, tunnelled packets
Deterministic: running it again gives the same files (named by content hash).
"""
import hashlib
import os
import shutil
import struct
import sys

FIX = "Tests/AnalyzeTests/Fixtures"
OUT = "Fuzz/Corpus"
CAP = 12 * 1024  # bytes per seed, at most (the corpus stays small)


def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    else:
        e = ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", data[20:24])[0]
    recs = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        recs.append((ts, frame, wirelen))
        off += 16 + caplen
    return data, link, nano, recs


def tcp_of(frame):
    """(src, dst, sport, dport, seq, ack, flags, window, options, payload) of an Ethernet/IPv4/TCP frame."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    if ip[9] != 6:
        return None
    t = ip[ihl:total]
    sport, dport, seq, ack = struct.unpack(">HHII", t[:12])
    doff = (t[12] >> 4) * 4
    return (ip[12:16], ip[16:20], sport, dport, seq, ack, t[13], struct.unpack(">H", t[14:16])[0],
            t[20:doff], t[doff:])


def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixtures():
    return sorted(f for f in os.listdir(FIX) if f.endswith(".pcap"))


# ---------------------------------------------------------------- packet decoder
LINKS = {"ethernet": 0, "sll": 1, "sll2": 2, "raw": 3, "rawlinktype": 4, "null": 5, "loop": 6,
         "ipv4": 7, "ipv6": 8, "unknown": 9, "nflog": 10}


def pd(link, frame, extra=0):
    return bytes([LINKS[link]]) + struct.pack(">H", extra) + frame


def ipv6_of(ip4):
    """The same transport payload in an IPv6 header (addresses mapped)."""
    ihl = (ip4[0] & 15) * 4
    total = struct.unpack(">H", ip4[2:4])[0]
    body = ip4[ihl:total]
    src = b"\xfd\x00" + b"\x00" * 10 + ip4[12:16]
    dst = b"\xfd\x00" + b"\x00" * 10 + ip4[16:20]
    nh = 58 if ip4[9] == 1 else ip4[9]
    return struct.pack(">IHBB", 0x60000000, len(body), nh, 64) + src + dst + body


def packet_seeds():
    mac = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    picked = []
    for name in fixtures():
        _, link, _, recs = read_pcap(os.path.join(FIX, name))
        seen = set()
        for ts, frame, wire in recs:
            t = tcp_of(frame)
            if not t:
                continue
            key = (t[6], len(t[8]) > 0, len(t[9]) > 0)
            if key in seen:
                continue
            seen.add(key)
            picked.append(frame)
    for frame in picked:
        ip4 = frame[14:]
        ip6 = ipv6_of(ip4)
        write("FuzzPacketDecoder", pd("ethernet", frame))
        write("FuzzPacketDecoder", pd("raw", ip4))
        write("FuzzPacketDecoder", pd("ipv6", ip6))
    frame = picked[0]
    ip4 = frame[14:]
    ip6 = ipv6_of(ip4)
    sll = lambda proto, ip: struct.pack(">HHH", 4, 1, 6) + b"\x02\x00\x00\x00\x00\x01\x00\x00" + struct.pack(">H", proto) + ip
    sll2 = lambda proto, ip: struct.pack(">HHIHBB", proto, 0, 2, 1, 4, 6) + b"\x02\x00\x00\x00\x00\x01\x00\x00" + ip
    for ip, proto, af in ((ip4, 0x0800, 2), (ip6, 0x86DD, 30)):
        write("FuzzPacketDecoder", pd("ethernet", mac + struct.pack(">H", proto) + ip))
        write("FuzzPacketDecoder", pd("ethernet", mac + struct.pack(">HHH", 0x8100, 7, proto) + ip))
        write("FuzzPacketDecoder", pd("ethernet", mac + struct.pack(">HHHHH", 0x88A8, 3, 0x8100, 7, proto) + ip))
        write("FuzzPacketDecoder", pd("sll", sll(proto, ip)))
        write("FuzzPacketDecoder", pd("sll2", sll2(proto, ip)))
        write("FuzzPacketDecoder", pd("raw", ip))
        write("FuzzPacketDecoder", pd("rawlinktype", ip))
        write("FuzzPacketDecoder", pd("null", struct.pack("<I", af) + ip))
        write("FuzzPacketDecoder", pd("null", struct.pack(">I", af) + ip))
        write("FuzzPacketDecoder", pd("loop", struct.pack(">I", af) + ip))
    write("FuzzPacketDecoder", pd("ipv4", ip4))
    write("FuzzPacketDecoder", pd("unknown", frame))
    write("FuzzPacketDecoder", pd("loop", struct.pack(">I", 24) + ip6))
    write("FuzzPacketDecoder", pd("null", struct.pack("<I", 28) + ip6))
    # IPv6 with a hop-by-hop and a fragment header before TCP.
    body = ip6[40:]
    hbh = bytes([44, 0, 1, 4, 0, 0, 0, 0])
    frag = bytes([6, 0, 0, 0, 0, 0, 0, 1])
    ext = struct.pack(">IHBB", 0x60000000, len(body) + 16, 0, 64) + ip6[8:40] + hbh + frag + body
    write("FuzzPacketDecoder", pd("ipv6", ext))
    # ICMP port unreachable quoting the SYN (IPv4) and ICMPv6 port unreachable (IPv6).
    syn = ip4[:(ip4[0] & 15) * 4 + 20]
    icmp = bytes([3, 3, 0, 0, 0, 0, 0, 0]) + syn[:28]
    ip = bytes([0x45, 0]) + struct.pack(">H", 20 + len(icmp)) + bytes([0, 1, 0, 0, 64, 1, 0, 0]) + ip4[16:20] + ip4[12:16] + icmp
    write("FuzzPacketDecoder", pd("raw", ip))
    write("FuzzPacketDecoder", pd("ethernet", mac + b"\x08\x00" + ip))
    icmp6 = bytes([1, 4, 0, 0, 0, 0, 0, 0]) + ip6[:48]
    ip = struct.pack(">IHBB", 0x60000000, len(icmp6), 58, 64) + ip6[24:40] + ip6[8:24] + icmp6
    write("FuzzPacketDecoder", pd("raw", ip))
    # TSO: IPv4 total length 0, the frame ends at the wire length.
    big = [f for f in picked if len(f) > 200]
    if big:
        f = big[0]
        tso = f[:16] + b"\x00\x00" + f[18:]
        write("FuzzPacketDecoder", pd("ethernet", tso, 0))
        write("FuzzPacketDecoder", pd("ethernet", tso[:120], len(tso) - 120))
    # Cut by the snapshot length.
    write("FuzzPacketDecoder", pd("ethernet", picked[-1][:60], len(picked[-1]) - 60))
    # Tunnels, label stacks, PPPoE, NFLOG around the first segment.
    encapsulation_seeds(ip4, ip6, frame)


def ip4_header(proto, payload, src=b"\x0a\x00\x00\x65", dst=b"\x0a\x00\x00\x66"):
    return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0) + src + dst + payload


def udp_header(dport, payload):
    return struct.pack(">HHHH", 49152, dport, 8 + len(payload), 0) + payload


def encapsulations(ip4, ip6, frame):
    """(name, Ethernet frame) for every encapsulation the decoder follows, each carrying the
    inner packet (the wire formats of EncapsulationTests and tunnel-endpoint.py)."""
    mac = frame[:12]
    eth = lambda t, body: mac + struct.pack(">H", t) + body
    labels = struct.pack(">II", 1000 << 12 | 64, 2000 << 12 | 1 << 8 | 64)
    gre = lambda flags, proto, body, extra=b"": struct.pack(">BBH", flags, 0, proto) + extra + body
    vxlan = struct.pack(">II", 0x08 << 24, 44 << 8)
    option = struct.pack(">HBB", 0x0103, 1, 1) + b"\xca\xfe\x00\x01"
    geneve = struct.pack(">BBHI", 2, 0, 0x6558, 44 << 8) + option
    erspan2 = struct.pack(">HHI", 0x1000, 5, 1)
    erspan3 = struct.pack(">HHIHH", 0x2000, 5, 0, 0, 0x0001) + b"\x00" * 8  # O set: platform subheader
    pppoe = struct.pack(">BBHH", 0x11, 0, 1, len(ip4) + 2) + b"\x00\x21" + ip4
    return [
        ("mpls", eth(0x8847, labels + ip4)),
        ("mpls-v6", eth(0x8847, labels + ip6)),
        ("mpls-pw", eth(0x8847, labels + b"\x00\x00\x00\x00" + frame)),
        ("vlan-mpls", eth(0x8100, struct.pack(">HH", 100, 0x8847) + labels + ip4)),
        ("qinq", eth(0x88A8, struct.pack(">HHHH", 3, 0x8100, 7, 0x0800) + ip4)),
        ("pppoe", eth(0x8864, pppoe)),
        ("ipip", eth(0x0800, ip4_header(4, ip4))),
        ("6in4", eth(0x0800, ip4_header(41, ip6))),
        ("gre-key-seq", eth(0x0800, ip4_header(47, gre(0x30, 0x0800, ip4, struct.pack(">II", 7, 1))))),
        ("gre-csum", eth(0x0800, ip4_header(47, gre(0x80, 0x86DD, ip6, b"\x00" * 4)))),
        ("gretap", eth(0x0800, ip4_header(47, gre(0x20, 0x6558, frame, struct.pack(">I", 7))))),
        ("gre-mpls", eth(0x0800, ip4_header(47, gre(0, 0x8847, labels + ip4)))),
        ("erspan1", eth(0x0800, ip4_header(47, gre(0, 0x88BE, frame)))),
        ("erspan2", eth(0x0800, ip4_header(47, gre(0x10, 0x88BE, erspan2 + frame, struct.pack(">I", 1))))),
        ("erspan3", eth(0x0800, ip4_header(47, gre(0x10, 0x22EB, erspan3 + frame, struct.pack(">I", 1))))),
        ("pptp-ppp", eth(0x0800, ip4_header(47, struct.pack(">BBHHH", 0x30, 0x81, 0x880B, len(ip4) + 4, 1)
                                            + struct.pack(">II", 1, 0) + b"\xff\x03\x00\x21" + ip4))),
        ("vxlan", eth(0x0800, ip4_header(17, udp_header(4789, vxlan + frame)))),
        ("vxlan-8472", eth(0x0800, ip4_header(17, udp_header(8472, vxlan + frame)))),
        ("geneve", eth(0x0800, ip4_header(17, udp_header(6081, geneve + frame)))),
        ("geneve-ip", eth(0x0800, ip4_header(17, udp_header(6081, struct.pack(">BBHI", 0, 0, 0x0800, 44 << 8) + ip4)))),
        ("mpls-udp", eth(0x0800, ip4_header(17, udp_header(6635, labels + ip4)))),
        ("vxlan-in-gre-in-mpls", eth(0x8847, labels[4:] + ip4_header(47, gre(0, 0x0800, ip4_header(17, udp_header(4789, vxlan + frame)))))),
    ]


def nflog(family, ip, swapped=False):
    """LINKTYPE_NFLOG: family, version 0, resource id; TLVs (length, type) in the host's order
    (little-endian here, big-endian when `swapped`), padded to 4: NFULA_PACKET_HDR, NFULA_PREFIX,
    NFULA_PAYLOAD."""
    e = ">" if swapped else "<"
    def tlv(t, v):
        out = struct.pack(e + "HH", 4 + len(v), t) + v
        return out + b"\x00" * (-len(out) % 4)
    return bytes([family, 0]) + struct.pack(">H", 7) + tlv(1, b"\x08\x00\x01\x00") + tlv(10, b"ab\x00") + tlv(9, ip)


def encapsulation_seeds(ip4, ip6, frame):
    for _, f in encapsulations(ip4, ip6, frame):
        write("FuzzPacketDecoder", pd("ethernet", f))
    write("FuzzPacketDecoder", pd("nflog", nflog(2, ip4)))
    write("FuzzPacketDecoder", pd("nflog", nflog(10, ip6)))
    write("FuzzPacketDecoder", pd("nflog", nflog(2, ip4, swapped=True)))


# ---------------------------------------------------------------- TCP reassembly
# Public captures whose HTTP/2 begins otherwise: h2c upgrades, a CONNECT tunnel, a long frame.
WILD = ["wild/sv-http2-range.pcap", "wild/sv-http2-errorcode.pcap", "wild/sv-http2-long-frame.pcap"]


def connections():
    """Per connection of every capture: list of (ts, fromServer, tcp tuple), client/server ISNs."""
    conns = []
    for name in fixtures() + WILD:
        _, link, _, recs = read_pcap(os.path.join(FIX, name))
        by = {}
        for ts, frame, wire in recs:
            if link == 0:  # BSD loopback (IPv4): seen as Ethernet here
                frame = b"\0" * 12 + b"\x08\x00" + frame[4:]
            t = tcp_of(frame)
            if not t:
                continue
            a, b = (t[0], t[2]), (t[1], t[3])
            key = tuple(sorted([a, b]))
            by.setdefault(key, []).append((ts, a, t))
        for key, pkts in by.items():
            first = pkts[0][2]
            syn = first[6] & 0x02 and not first[6] & 0x10
            if syn:
                client = pkts[0][1]
            else:  # lower port is the server
                a = (first[0], first[2]); b = (first[1], first[3])
                client = a if first[2] > first[3] else b
            isn = [None, None]
            out = []
            for ts, src, t in pkts:
                side = 0 if src == client else 1
                if isn[side] is None:
                    isn[side] = t[4]
                out.append((ts, side, t))
            isn = [x if x is not None else 0 for x in isn]
            conns.append((name, out, isn))
    return conns


def reassembly_seed(options, pkts, isn, cap=CAP):
    out = bytearray([options]) + struct.pack(">II", isn[0], isn[1])
    last = pkts[0][0]
    for ts, side, t in pkts:
        dt = max(0, (ts - last) // 1_000_000)
        last = ts
        step = dt if dt < 0x8000 else 0x8000 | min(0x7FFF, dt // 10)
        seq = (t[4] - isn[side]) & 0xFFFFFF
        ack = (t[5] - isn[1 - side]) & 0xFFFFFF if t[6] & 0x10 else 0
        opts = t[8][:40]
        rec = bytes([side, t[6]]) + seq.to_bytes(3, "big") + ack.to_bytes(3, "big") + struct.pack(">HHB", t[7], step, len(opts)) \
            + struct.pack(">H", len(t[9])) + opts + t[9]
        if len(out) + len(rec) > cap:
            break
        out += rec
    return bytes(out)


def reassembly_seeds():
    for name, pkts, isn in connections():
        if name in WILD:
            # Kept small: each connection as captured, and with a server segment missing.
            write("FuzzTCPReassembly", reassembly_seed(0, pkts, isn))
            data = [i for i, p in enumerate(pkts) if p[2][9] and p[1] == 1]
            if len(data) >= 2:
                write("FuzzTCPReassembly", reassembly_seed(0, [p for k, p in enumerate(pkts) if k != data[-2]], isn))
            continue
        write("FuzzTCPReassembly", reassembly_seed(8, pkts, isn))
        write("FuzzTCPReassembly", reassembly_seed(0, pkts, isn))
        if "grpc" in name or "stall" in name:
            write("FuzzTCPReassembly", reassembly_seed(1, pkts, isn))
            data = [i for i, p in enumerate(pkts) if p[2][9]]
            if len(data) >= 4:
                i, j = data[1], data[2]
                swapped = list(pkts); swapped[i], swapped[j] = swapped[j], swapped[i]
                write("FuzzTCPReassembly", reassembly_seed(0, swapped, isn))
                repeated = list(pkts); repeated.insert(data[2] + 1, pkts[data[1]])
                write("FuzzTCPReassembly", reassembly_seed(0, repeated, isn))
                missing = [p for k, p in enumerate(pkts) if k != data[1]]
                write("FuzzTCPReassembly", reassembly_seed(0, missing, isn))
                write("FuzzTCPReassembly", reassembly_seed(0, pkts, [0xFFFFFF00, 0xFFFFFFF0]))
                write("FuzzTCPReassembly", reassembly_seed(6, pkts[2:], isn))


# ---------------------------------------------------------------- HTTP/1.1 into HTTP/2
def http1_seed(options, client, server):
    return bytes([options]) + struct.pack(">H", len(client)) + client + server


def http1_upgrade_seeds():
    """Each wild connection's two byte streams (Upgrade: h2c, CONNECT tunnels, plain HTTP/1.1),
    whole and cut short, and a few heads written by hand."""
    for name, pkts, isn in connections():
        if name not in WILD or "long-frame" in name:
            continue
        c, s = stream_bytes(pkts, 0, isn)[:4096], stream_bytes(pkts, 1, isn)[:4096]
        for options in (0x00, 0x01, 0x02, 0x34, 0x04, 0x08):
            write("FuzzHTTP1Upgrade", http1_seed(options, c, s))
        for head in (c, s):
            if head[:1].isalpha():
                write("FuzzHTTP1Head", bytes([0]) + head[:2048])
        write("FuzzHTTP1Upgrade", http1_seed(0, c[:len(c) // 2], s[:len(s) // 3]))
    crlf = b"\r\n"
    upgrade = b"GET / HTTP/1.1" + crlf + b"Host: a" + crlf + b"Connection: Upgrade, HTTP2-Settings" + crlf \
        + b"Upgrade: h2c" + crlf + b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA" + crlf + crlf
    switching = b"HTTP/1.1 101 Switching Protocols" + crlf + b"Connection: Upgrade" + crlf + b"Upgrade: h2c" + crlf + crlf
    settings = frame(4, 0, 0, b"")
    connect = b"CONNECT 127.0.0.1:6233 HTTP/1.1" + crlf + b"Host: 127.0.0.1:6233" + crlf + crlf
    ok = b"HTTP/1.1 200 Connection established" + crlf + crlf
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    hello = bytes.fromhex("16030100") + b"\x2a" + bytes.fromhex("0100002603030000") + b"\0" * 32
    for head in (upgrade, switching, connect, ok):
        write("FuzzHTTP1Head", bytes([0]) + head)
        write("FuzzHTTP1Head", bytes([1]) + head)
    write("FuzzHTTP1Upgrade", http1_seed(0, upgrade + preface + settings, switching + settings))
    write("FuzzHTTP1Upgrade", http1_seed(0, connect + preface + settings, ok + settings))
    write("FuzzHTTP1Upgrade", http1_seed(0, connect + hello, ok))
    write("FuzzHTTP1Upgrade", http1_seed(1, b"GET / HTTP/1.1" + crlf + crlf, b"HTTP/1.1 200 OK" + crlf + b"Content-Length: 2" + crlf + crlf + b"ok"))


# ---------------------------------------------------------------- HTTP/2 frames
def stream_bytes(pkts, side, isn):
    segs = {}
    for ts, s, t in pkts:
        if s == side and t[9]:
            segs.setdefault((t[4] - isn[side]) & 0xFFFFFFFF, t[9])
    out = bytearray()
    nxt = None
    for rel in sorted(segs):
        p = segs[rel]
        if nxt is None:
            nxt = rel
        if rel > nxt:
            break
        out += p[nxt - rel:]
        nxt = max(nxt, rel + len(p))
    return bytes(out)


def frame(type_, flags, stream, payload):
    return len(payload).to_bytes(3, "big") + bytes([type_, flags]) + struct.pack(">I", stream) + payload


def http2_seeds():
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    for name, pkts, isn in connections():
        if name in WILD:
            continue
        for side in (0, 1):
            b = stream_bytes(pkts, side, isn)
            if len(b) < 9:
                continue
            if side == 0 and not b.startswith(preface):
                continue
            head = b[:CAP - 2]
            write("FuzzHTTP2Frames", bytes([2 | side, 255]) + head)
            write("FuzzHTTP2Frames", bytes([2 | side | 32, 6]) + head)
            write("FuzzHTTP2Frames", bytes([2 | side | 64, 40]) + head)  # with capture gaps
            if side == 0:
                write("FuzzHTTP2Frames", bytes([0, 255]) + b[24:24 + CAP])
    # Hand-made: HEADERS split over CONTINUATION, padded DATA, PUSH_PROMISE, PRIORITY,
    # RST_STREAM, GOAWAY with debug data, WINDOW_UPDATE 0, an unknown type.
    hpack = bytes([0x82, 0x86, 0x84, 0x41, 0x0a]) + b"localhost:"
    seq = frame(4, 0, 0, struct.pack(">HI", 1, 65536) + struct.pack(">HI", 5, 1 << 20)) \
        + frame(1, 0x20, 1, struct.pack(">IB", 0x80000003, 15) + hpack[:5]) \
        + frame(9, 0x04, 1, hpack[5:]) \
        + frame(0, 0x09, 1, bytes([3]) + b"data" + b"\x00" * 3) \
        + frame(5, 0x04, 1, struct.pack(">I", 2) + bytes([0x82])) \
        + frame(2, 0, 3, struct.pack(">IB", 1, 200)) \
        + frame(3, 0, 3, struct.pack(">I", 8)) \
        + frame(8, 0, 0, struct.pack(">I", 0)) \
        + frame(0x10, 0xFF, 7, b"odd") \
        + frame(7, 0, 0, struct.pack(">II", 3, 0) + b"graceful shutdown")
    write("FuzzHTTP2Frames", bytes([3, 255]) + seq)
    write("FuzzHTTP2Frames", bytes([1, 4]) + seq[15:])
    write("FuzzHTTP2Frames", bytes([2, 255]) + preface + seq)
    write("FuzzHTTP2Frames", bytes([8 | 16, 255]) + seq)


# ---------------------------------------------------------------- capture reader
def pcap_file(link, recs, endian="<", nano=True):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, link)
    for ts, frame, wire in recs:
        frac = ts % 1_000_000_000 if nano else (ts % 1_000_000_000) // 1000
        out += struct.pack(endian + "IIII", ts // 1_000_000_000, frac, len(frame), wire) + frame
    return out


def pcapng_file(link, recs):
    out = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    out += struct.pack("<IIHHIHH4sHHI", 1, 32, link, 0, 262144, 9, 1, b"\x09\x00\x00\x00", 0, 0, 32)
    for ts, frame, wire in recs:
        padded = (len(frame) + 3) & ~3
        total = 32 + padded
        out += struct.pack("<IIIIIII", 6, total, 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), wire)
        out += frame + b"\x00" * (padded - len(frame)) + struct.pack("<I", total)
    return out


def pcapng_mixed(interfaces, recs, big_endian=False, tsresol=9):
    """A pcapng section with one Interface Description Block per link type in `interfaces`
    (if_tsresol `tsresol`), then Enhanced Packet Blocks (interface index, ts, frame, wire)."""
    e = ">" if big_endian else "<"
    out = struct.pack(e + "IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    for link in interfaces:
        out += struct.pack(e + "IIHHIHH4sHHI", 1, 32, link, 0, 262144, 9, 1, bytes([tsresol, 0, 0, 0]), 0, 0, 32)
    for iface, ts, frame, wire in recs:
        padded = (len(frame) + 3) & ~3
        total = 32 + padded
        out += struct.pack(e + "IIIIIII", 6, total, iface, ts >> 32, ts & 0xFFFFFFFF, len(frame), wire)
        out += frame + b"\x00" * (padded - len(frame)) + struct.pack(e + "I", total)
    return out


def capture_seeds():
    for name in fixtures():
        data, link, nano, recs = read_pcap(os.path.join(FIX, name))
        if len(data) <= CAP:
            write("FuzzCaptureReader", data)
        else:
            cut = []
            size = 24
            for r in recs:
                if size + 16 + len(r[1]) > CAP:
                    break
                cut.append(r); size += 16 + len(r[1])
            write("FuzzCaptureReader", pcap_file(link, cut, nano=nano))
    _, link, _, recs = read_pcap(os.path.join(FIX, "proxy-reset.pcap"))
    write("FuzzCaptureReader", pcapng_file(link, recs))
    write("FuzzCaptureReader", pcap_file(link, recs, endian=">", nano=False))
    write("FuzzCaptureReader", pcap_file(101, [(ts, f[14:], w - 14) for ts, f, w in recs]))
    sll2 = lambda f: struct.pack(">HHIHBB", 0x0800, 0, 2, 1, 0, 6) + f[6:12] + b"\x00\x00" + f[14:]
    write("FuzzCaptureReader", pcap_file(276, [(ts, sll2(f), w + 6) for ts, f, w in recs]))
    _, link, _, recs = read_pcap(os.path.join(FIX, "keepalive-death.pcap"))
    write("FuzzCaptureReader", pcapng_file(link, recs))
    # pcapng whose interfaces differ in link type (Ethernet, raw IP, SLL2, NFLOG), both byte
    # orders, a binary time resolution, and a Simple Packet Block; the same go to FuzzPcapngReader.
    _, link, _, recs = read_pcap(os.path.join(FIX, "proxy-reset.pcap"))
    mixed = []
    for i, (ts, f, w) in enumerate(recs[:24]):
        kind = i % 4
        if kind == 0: mixed.append((0, ts, f, w))
        elif kind == 1: mixed.append((1, ts, f[14:], w - 14))
        elif kind == 2: mixed.append((2, ts, sll2(f), w + 6))
        else: mixed.append((3, ts, nflog(2, f[14:]), w))
    seeds = [pcapng_mixed([1, 101, 276, 239], mixed),
             pcapng_mixed([1, 101, 276, 239], mixed, big_endian=True),
             pcapng_mixed([101, 1], [(1 - i, ts, fr, w) for i, ts, fr, w in mixed[:8] if i < 2], tsresol=0x80 | 30)]
    ip = recs[0][1][14:]
    spb = struct.pack("<III", 3, 16 + ((len(ip) + 3) & ~3), len(ip)) + ip + b"\x00" * (-len(ip) % 4) + struct.pack("<I", 16 + ((len(ip) + 3) & ~3))
    seeds.append(pcapng_mixed([101], []) + spb)
    # Tunnelled packets in a capture: each encapsulation once.
    ip4 = recs[0][1][14:]
    tunnelled = [(0, recs[0][0] + k, f, len(f)) for k, (_, f) in enumerate(encapsulations(ip4, ipv6_of(ip4), recs[0][1]))]
    seeds.append(pcapng_mixed([1], tunnelled))
    for seed in seeds:
        write("FuzzCaptureReader", seed)
        write("FuzzPcapngReader", seed)
    for name in fixtures():
        _, link, _, recs = read_pcap(os.path.join(FIX, name))
        write("FuzzPcapngReader", pcapng_file(link, recs[:40]))


def main():
    if not os.path.isdir(FIX):
        sys.exit("run from the repository root")
    for t in ("FuzzPacketDecoder", "FuzzTCPReassembly", "FuzzHTTP2Frames", "FuzzHTTP1Head", "FuzzHTTP1Upgrade", "FuzzCaptureReader", "FuzzPcapngReader"):
        # Keep crash reproducers (named crash-*) that were added by hand; regenerate the rest.
        d = os.path.join(OUT, t)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not f.startswith("crash-"):
                    os.remove(os.path.join(d, f))
    packet_seeds()
    reassembly_seeds()
    http2_seeds()
    http1_upgrade_seeds()
    capture_seeds()


if __name__ == "__main__":
    main()
