#!/usr/bin/env python3
"""A userspace tunnel endpoint for TunnelCaptureTests, for kernels without the tunnel's
module (no gre, ipip, sit, geneve, erspan here). Run one in each of two namespaces joined by
a veth underlay. It creates a TUN device (inner IP packets) or a TAP device (inner Ethernet
frames), gives it the inner address, and moves packets both ways:

    TUN/TAP --read--> wrap per the RFC --send over the underlay--> the other endpoint
    the other endpoint's packets --unwrap--> write to TUN/TAP

Kinds and their wire format (each byte is what the RFC says; tshark checks it):
  gre       GRE (RFC 2784) with key and sequence number (RFC 2890), IP inside, IP proto 47
  gretap    GRE with key, protocol 0x6558 (transparent Ethernet bridging), Ethernet inside
  ipip      IPv4 in IPv4 (RFC 2003), IP proto 4
  sit       IPv6 in IPv4 (6in4, RFC 4213), IP proto 41
  geneve    Geneve (RFC 8926), UDP 6081, one 4-byte option TLV, Ethernet inside
  erspan    ERSPAN type II: GRE with sequence number, protocol 0x88BE, 8-byte ERSPAN
            header (version 1, session id), Ethernet inside
  mplsudp   MPLS over UDP (RFC 7510), UDP 6635, a two-label stack, IP inside
  mplsgre   MPLS in GRE (RFC 4023), protocol 0x8847, a two-label stack, IP inside
  vxlan     VXLAN (RFC 7348), UDP 4789 (vxlan8472: Linux's old port), Ethernet inside
            (the tests prefer the kernel's own where it has one)

usage: tunnel-endpoint.py KIND LOCAL REMOTE DEV INNER_ADDRESS/PREFIX
It prints "ready" once the device is up, and exits by itself after --lifetime seconds
(default 60) so a test that dies never leaves it running.
"""
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000

ETH_IPV4, ETH_IPV6, ETH_BRIDGING, ETH_ERSPAN2, ETH_MPLS = 0x0800, 0x86DD, 0x6558, 0x88BE, 0x8847
GRE_K, GRE_S, GRE_C = 0x20, 0x10, 0x80
GRE_KEY = 0x0000_0007
GENEVE_PORT, VXLAN_PORT, MPLS_UDP_PORT = 6081, 4789, 6635
VNI = 44
LABELS = (1000, 2000)

# kind -> (device type, carrier): carrier is an IP protocol number (raw socket) or "udp"
KINDS = {
    "gre": (IFF_TUN, socket.IPPROTO_GRE),
    "gretap": (IFF_TAP, socket.IPPROTO_GRE),
    "ipip": (IFF_TUN, socket.IPPROTO_IPIP),
    "sit": (IFF_TUN, socket.IPPROTO_IPV6),
    "geneve": (IFF_TAP, "udp"),
    "erspan": (IFF_TAP, socket.IPPROTO_GRE),
    "mplsudp": (IFF_TUN, "udp"),
    "mplsgre": (IFF_TUN, socket.IPPROTO_GRE),
    "vxlan": (IFF_TAP, "udp"),
    "vxlan8472": (IFF_TAP, "udp"),
}
UDP_PORTS = {"geneve": GENEVE_PORT, "mplsudp": MPLS_UDP_PORT, "vxlan": VXLAN_PORT, "vxlan8472": 8472}


def ip_ethertype(packet):
    return ETH_IPV6 if packet[0] >> 4 == 6 else ETH_IPV4


def mpls_stack():
    """Label 20 | traffic class 3 | bottom of stack 1 | TTL 8, per label (RFC 3032)."""
    out = b""
    for i, label in enumerate(LABELS):
        bottom = 1 if i == len(LABELS) - 1 else 0
        out += struct.pack("!I", label << 12 | bottom << 8 | 64)
    return out


def strip_mpls(data):
    off = 0
    while off + 4 <= len(data):
        bottom = data[off + 2] & 0x01
        off += 4
        if bottom:
            return data[off:]
    return None


class Endpoint:
    def __init__(self, kind):
        self.kind = kind
        self.sequence = 0

    def gre(self, flags, protocol, payload):
        """GRE header (RFC 2784/2890): C R K S s recur | A flags version | protocol type,
        then key if K, sequence number if S."""
        header = struct.pack("!BBH", flags, 0, protocol)
        if flags & GRE_K:
            header += struct.pack("!I", GRE_KEY)
        if flags & GRE_S:
            self.sequence += 1
            header += struct.pack("!I", self.sequence)
        return header + payload

    def wrap(self, inner):
        k = self.kind
        if k == "gre":
            return self.gre(GRE_K | GRE_S, ip_ethertype(inner), inner)
        if k == "gretap":
            return self.gre(GRE_K, ETH_BRIDGING, inner)
        if k in ("ipip", "sit"):
            return inner
        if k == "erspan":
            # ERSPAN II: version 1 (4) | VLAN 0 (12) | COS 0 (3) En 0 (2) T 0 (1) session 5 (10)
            # | reserved (12) index 1 (20)
            return self.gre(GRE_S, ETH_ERSPAN2, struct.pack("!HHI", 0x1000, 5, 1) + inner)
        if k == "mplsgre":
            return self.gre(0, ETH_MPLS, mpls_stack() + inner)
        if k == "mplsudp":
            return mpls_stack() + inner
        if k == "geneve":
            # version 0 (2) | options length 2 words (6) | O 0 C 0 (8) | protocol 0x6558 | VNI (24) | 0,
            # then one option: class 0x0103 | type 0x01 (not critical) | length 1 word | 4 bytes
            option = struct.pack("!HBB", 0x0103, 0x01, 1) + b"\xca\xfe\x00\x01"
            return struct.pack("!BBHI", len(option) // 4, 0, ETH_BRIDGING, VNI << 8) + option + inner
        if k in ("vxlan", "vxlan8472"):
            # flags (I: the VNI is valid) | reserved (24) | VNI (24) | reserved (8)
            return struct.pack("!II", 0x08 << 24, VNI << 8) + inner
        raise ValueError(k)

    def unwrap(self, outer):
        """The inner packet or frame, or None for anything this endpoint did not send."""
        k = self.kind
        if k in ("ipip", "sit"):
            return outer
        if k in ("gre", "gretap", "erspan", "mplsgre"):
            if len(outer) < 4:
                return None
            flags, _, protocol = struct.unpack("!BBH", outer[:4])
            off = 4 + (4 if flags & GRE_C else 0) + (4 if flags & GRE_K else 0) + (4 if flags & GRE_S else 0)
            body = outer[off:]
            if protocol == ETH_ERSPAN2:
                return body[8:]
            if protocol == ETH_MPLS:
                return strip_mpls(body)
            return body
        if k == "mplsudp":
            return strip_mpls(outer)
        if k == "geneve":
            if len(outer) < 8:
                return None
            return outer[8 + (outer[0] & 0x3F) * 4:]
        if k in ("vxlan", "vxlan8472"):
            return outer[8:]
        raise ValueError(k)


def open_device(name, mode):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), mode | IFF_NO_PI))
    return fd


def main():
    args = sys.argv[1:]
    lifetime = 60.0
    if "--lifetime" in args:
        i = args.index("--lifetime")
        lifetime = float(args[i + 1])
        del args[i:i + 2]
    kind, local, remote, dev, address = args
    mode, carrier = KINDS[kind]
    fd = open_device(dev, mode)
    v6 = ":" in address
    # Nothing but the test's traffic in the tunnel: no IPv6 on an IPv4 tunnel (router
    # solicitations, MLD reports), no link-local address on an IPv6 one, no DAD wait.
    with open(f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6", "w") as f:
        f.write("0" if v6 else "1")
    if v6:
        subprocess.run(["ip", "link", "set", dev, "addrgenmode", "none"], check=True)
    # Room for the outer headers on the 1500-byte underlay.
    subprocess.run(["ip", "link", "set", dev, "mtu", "1400", "up"], check=True)
    subprocess.run(["ip", "addr", "add", address, "dev", dev] + (["nodad"] if v6 else []), check=True)
    if carrier == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        port = UDP_PORTS[kind]
        sock.bind((local, port))
    else:
        # A raw socket of that IP protocol: the kernel writes the outer IPv4 header on send
        # and hands every received packet of the protocol over with its IP header.
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, carrier)
        port = 0
    endpoint = Endpoint(kind)
    print("ready", flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd, sock], [], [], 0.5)
        if fd in ready:
            inner = os.read(fd, 65535)
            sock.sendto(endpoint.wrap(inner), (remote, port))
        if sock in ready:
            data, (source, _) = sock.recvfrom(65535)
            if source != remote:
                continue
            if carrier != "udp":
                data = data[(data[0] & 0x0F) * 4:]
            inner = endpoint.unwrap(data)
            if inner:
                os.write(fd, inner)


if __name__ == "__main__":
    main()
