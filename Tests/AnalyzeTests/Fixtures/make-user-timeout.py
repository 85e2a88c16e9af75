#!/usr/bin/env python3
"""Records user-timeout.pcap: a client with TCP_USER_TIMEOUT=3s writes into a flow that a
firewall has just cut, retransmits, and gives up silently (ETIMEDOUT, no RST on the wire).

    sudo python3 Tests/AnalyzeTests/Fixtures/make-user-timeout.py Tests/AnalyzeTests/Fixtures/user-timeout.pcap

`conndiag keepalive-test --lab --traffic send --user-timeout 3s --cut-after 1s --write-pcap`
records the same flow, but its capture stops when the socket fails, so the file cannot show
that the sender went quiet afterwards. Here the capture runs on for a few seconds with a UDP
heartbeat beside the dead flow, which prove the capture was still running when the next
retransmission would have been due (UDP datagrams to the discard port every 0.5 s: the
image has no ping). Two private namespaces joined by a veth pair; all removed
at the end.
"""
import os
import socket
import subprocess
import sys
import time

C, S = f"cdutc-{os.getpid()}", f"cduts-{os.getpid()}"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check)


def client():
    s = socket.create_connection(("10.77.0.2", 7000), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 3000)
    s.settimeout(None)
    time.sleep(1)
    print("cut", flush=True)
    sys.stdin.readline()                 # the flow is cut now
    start = time.monotonic()
    s.send(b"x" * 64)
    try:
        s.recv(1)
    except OSError as e:
        print(f"client: {e} after {time.monotonic() - start:.3f}s", file=sys.stderr)


def heartbeat():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(20):
        u.sendto(b"heartbeat", ("10.77.0.2", 9))
        time.sleep(0.5)


def server():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("10.77.0.2", 7000))
    ls.listen()
    conn, _ = ls.accept()
    time.sleep(30)


def record(out):
    procs = []
    try:
        sh("ip", "netns", "add", C)
        sh("ip", "netns", "add", S)
        sh("ip", "link", "add", "cdut0", "netns", C, "type", "veth", "peer", "name", "cdut1", "netns", S)
        for ns, dev, addr in ((C, "cdut0", "10.77.0.1/24"), (S, "cdut1", "10.77.0.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        procs.append(subprocess.Popen(["ip", "netns", "exec", C, "tcpdump", "-i", "cdut0", "-U", "-w", out,
                                       "tcp port 7000 or udp port 9"], stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(["ip", "netns", "exec", S, sys.executable, __file__, "--serve"]))
        time.sleep(1.5)
        cl = subprocess.Popen(["ip", "netns", "exec", C, sys.executable, __file__, "--client"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(cl)
        cl.stdout.readline()
        sh("ip", "netns", "exec", S, "iptables", "-I", "INPUT", "-p", "tcp", "--dport", "7000", "-j", "DROP")
        sh("ip", "netns", "exec", S, "iptables", "-I", "OUTPUT", "-p", "tcp", "--sport", "7000", "-j", "DROP")
        procs.append(subprocess.Popen(["ip", "netns", "exec", C, sys.executable, __file__, "--heartbeat"]))
        cl.stdin.write("go\n")
        cl.stdin.flush()
        cl.wait(timeout=30)
        time.sleep(6)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        sh("ip", "netns", "del", C, check=False)
        sh("ip", "netns", "del", S, check=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        server()
    elif sys.argv[1:] == ["--heartbeat"]:
        heartbeat()
    elif sys.argv[1:] == ["--client"]:
        client()
    elif len(sys.argv) == 2:
        record(sys.argv[1])
    else:
        sys.exit("usage: make-user-timeout.py OUT.pcap")
