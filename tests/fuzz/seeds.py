#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses, cut from the fixtures.

    /usr/bin/python3 tests/fuzz/seeds.py OUTDIR

Reads every tests/fixtures/*.pcap (pcap or pcapng, any byte order) and the
configuration files, and writes OUTDIR/<harness>/<sha1 of the content>, one
file per distinct input, in the input format each harness expects (see the
comment at the top of tests/fuzz/fuzz_<harness>.c):

  gre        the GRE header and payload of every outer GRE packet
  ip         a switch byte (0) + every outer and inner IP packet
  pim_hello  every inner PIM Hello message (the PIM header included)
  pim_jp     every inner PIM Join/Prune message
  bmp        a mode byte and a BMP stream (tests/fixtures/bmp/)
  mdt_join   the UDP payload of every inner UDP 3232 -> 3232 datagram
  probe      a mode byte (0) + the UDP payload of every probe in probe_rx.pcap,
             and a mode byte (odd: link type) + port (2 bytes) + every frame
  frame      a link-type byte + every frame, once per link type the engine
             reads (Ethernet as captured; the others rebuilt around the IP packet)
  model      a flags byte (1: fix checksums) + consecutive frames of each capture as
             [quarter seconds since the last][length][IP packet] records, cut
             to inputs of at most 4 KB
  config     tests/fixtures/*.conf, mvpnmond.conf.example, tests/fuzz/configs/*
  bgp_model  two mode bytes and a BMP stream: the fixtures' steps concatenated,
             the malformed messages inside them, and streams of C-multicast
             routes with Route Targets (bgp_model_streams)

Only the standard library: the decoding here is a plain walk of the headers
(a frame it cannot walk still seeds fuzz_frame and fuzz_probe whole), and it
shares nothing with mvpnmon's parsers.
"""

import glob
import hashlib
import os
import struct
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Index of each link type in fuzz.h's table (fuzz_dlt): the selector byte.
DLT_INDEX = {"en10mb": 0, "raw": 1, "ipv4": 2, "ipv6": 3, "sll": 4, "sll2": 5, "null": 6,
             "loop": 7}
PROBE_PORT = 9950  # gen_probe_fixtures.py's PORT


def read_pcap(path):
    """(linktype, frame bytes) for every packet of a pcap or pcapng file."""
    return [(linktype, frame) for linktype, frame, _ in read_pcap_timed(path)]


def read_pcap_timed(path):
    """(linktype, frame bytes, seconds) for every packet of a pcap or pcapng file."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        return list(read_pcapng(data))
    for endian in "<>":
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xa1b2c3d4, 0xa1b23c4d):
            break
    else:
        raise ValueError("%s: not a pcap file" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0fffffff
    frac = 1e-9 if m == 0xa1b23c4d else 1e-6
    out, at = [], 24
    while at + 16 <= len(data):
        sec, sub, caplen = struct.unpack(endian + "III", data[at:at + 12])
        out.append((linktype, data[at + 16:at + 16 + caplen], sec + sub * frac))
        at += 16 + caplen
    return out


def read_pcapng(data):
    endian, linktypes, at = "<", [], 0
    while at + 12 <= len(data):
        btype = struct.unpack(endian + "I", data[at:at + 4])[0]
        if btype == 0x0a0d0d0a:
            endian = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            linktypes = []
        blen = struct.unpack(endian + "I", data[at + 4:at + 8])[0]
        body = data[at + 8:at + blen - 4]
        if btype == 1:
            linktypes.append(struct.unpack(endian + "H", body[:2])[0])
        elif btype == 6:
            iface, hi, lo, caplen = struct.unpack(endian + "IIII", body[:16])
            yield linktypes[iface], body[20:20 + caplen], (hi << 32 | lo) * 1e-6
        if blen < 12:
            break
        at += blen


def ether_payload(frame):
    """(ethertype, IP packet) of an Ethernet frame, through up to two VLAN tags."""
    if len(frame) < 14:
        return None, b""
    etype, at = struct.unpack("!H", frame[12:14])[0], 14
    for _ in range(2):
        if etype not in (0x8100, 0x88a8) or len(frame) < at + 4:
            break
        etype, at = struct.unpack("!H", frame[at + 2:at + 4])[0], at + 4
    return etype, frame[at:]


def ip_layer(pkt):
    """(version, proto, src, dst, payload) of an IPv4/IPv6 packet, or None."""
    if len(pkt) >= 20 and pkt[0] >> 4 == 4:
        hlen, total = (pkt[0] & 15) * 4, struct.unpack("!H", pkt[2:4])[0]
        if hlen < 20 or total < hlen or total > len(pkt):
            return None
        return 4, pkt[9], pkt[12:16], pkt[16:20], pkt[hlen:total]
    if len(pkt) >= 40 and pkt[0] >> 4 == 6:
        plen, nh = struct.unpack("!H", pkt[4:6])[0], pkt[6]
        payload = pkt[40:40 + plen]
        while nh in (0, 43, 60) and len(payload) >= 2:
            nh, payload = payload[0], payload[(payload[1] + 1) * 8:]
        return 6, nh, pkt[8:24], pkt[24:40], payload
    return None


def gre_payload(gre):
    if len(gre) < 4:
        return None, b""
    flags, proto = struct.unpack("!HH", gre[:4])
    hlen = 4 + 4 * sum(1 for bit in (0x8000, 0x2000, 0x1000) if flags & bit)
    return proto, gre[hlen:]


class Seeds:
    def __init__(self, outdir):
        self.outdir, self.count = outdir, {}

    def add(self, harness, data):
        d = os.path.join(self.outdir, harness)
        os.makedirs(d, exist_ok=True)
        name = os.path.join(d, hashlib.sha1(data).hexdigest())
        if not os.path.exists(name):
            with open(name, "wb") as f:
                f.write(data)
            self.count[harness] = self.count.get(harness, 0) + 1


def link_variants(ip):
    """The IP packet framed for every other link type link_parse reads."""
    v6 = ip[:1] and ip[0] >> 4 == 6
    etype = 0x86dd if v6 else 0x0800
    family = 10 if v6 else 2
    yield "raw", ip
    yield ("ipv6" if v6 else "ipv4"), ip
    yield "sll", struct.pack("!HHH8sH", 0, 1, 6, b"\x02\x00\xc6\x12\x00\x01\x00\x00", etype) + ip
    yield "sll2", struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6, b"\x02\x00\xc6\x12\x00\x01\x00\x00") + ip
    yield "null", struct.pack("<I", family) + ip
    yield "loop", struct.pack("!I", family) + ip


def seed_frame(s, linktype, frame, probe_capture):
    if linktype != 1:  # the fixtures are Ethernet; anything else seeds the frame harness whole
        return
    s.add("frame", bytes([DLT_INDEX["en10mb"]]) + frame)
    s.add("probe", bytes([1 | DLT_INDEX["en10mb"] << 1]) + struct.pack("!H", PROBE_PORT) + frame)
    etype, ip = ether_payload(frame)
    if etype not in (0x0800, 0x86dd):
        return
    for name, framed in link_variants(ip):
        s.add("frame", bytes([DLT_INDEX[name]]) + framed)
    if probe_capture:
        # Any port, through a Linux cooked capture as well.
        s.add("probe", bytes([1 | DLT_INDEX["sll"] << 1, 0, 0]) + dict(link_variants(ip))["sll"])
    s.add("ip", b"\x00" + ip)
    outer = ip_layer(ip)
    if not outer or outer[1] != 47:
        return
    s.add("gre", outer[4])
    proto, inner_pkt = gre_payload(outer[4])
    if proto not in (0x0800, 0x86dd):
        return
    s.add("ip", b"\x00" + inner_pkt)
    inner = ip_layer(inner_pkt)
    if not inner:
        return
    _, iproto, _, _, payload = inner
    if iproto == 103 and payload:
        ptype = payload[0] & 15
        if ptype == 0:
            s.add("pim_hello", payload)
        elif ptype == 3:
            s.add("pim_jp", payload)
    elif iproto == 17 and len(payload) >= 8:
        sport, dport, ulen = struct.unpack("!HHH", payload[:6])
        udp_payload = payload[8:ulen] if ulen >= 8 else payload[8:]
        if sport == 3232 and dport == 3232:
            s.add("mdt_join", udp_payload)
        if probe_capture and udp_payload[:4] == b"MVPb":
            s.add("probe", b"\x00" + udp_payload)


def seed_model(s, frames, max_len=4096):
    """The capture's IP packets, in order and timed, as fuzz_model inputs."""
    chunk, last = bytearray([1]), None
    for linktype, frame, t in frames:
        if linktype != 1:
            continue
        etype, ip = ether_payload(frame)
        if etype not in (0x0800, 0x86dd) or len(ip) > 0xffff:
            continue
        dt = 0 if last is None else min(255, max(0, round((t - last) * 4)))
        last = t
        record = bytes([dt]) + struct.pack("!H", len(ip)) + ip
        if len(chunk) + len(record) > max_len and len(chunk) > 1:
            s.add("model", bytes(chunk))
            chunk = bytearray([1])
        chunk += record
    if len(chunk) > 1:
        s.add("model", bytes(chunk))


def seed_bmp(s):
    """The BMP fixtures (tests/fixtures/bmp/): each step, the steps so far, each
    malformed message after the first two steps; mode bytes 0 (reads of 1
    byte) and 5 (1 KiB)."""
    d = os.path.join(TOP, "tests", "fixtures", "bmp")
    steps = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(d, "0*.bmp")))]
    streams = steps + [b"".join(steps[:i]) for i in range(2, len(steps) + 1)]
    start = b"".join(steps[:2])
    streams += [start + open(p, "rb").read()
                for p in sorted(glob.glob(os.path.join(d, "malformed", "*.bmp")))]
    for st in streams:
        for mode in (0, 5):
            s.add("bmp", bytes([mode]) + st)
    # Single NLRI (mode 0x40 | family, each NLRI under all three) and PMSI Tunnel values (mode 0xc0), from
    # gen_bmp.py's own encoder.
    sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
    import gen_bmp
    m = gen_bmp.Model()
    gen_bmp.step_routes(m)
    gen_bmp.step_withdraw(m)
    fam = {"mdt": 0, "mvpn4": 1, "mvpn6": 2}
    for _kind, routes, _p in m.tshark:
        for r in routes:
            for f in fam.values():  # each under every family: the wrong ones must refuse
                s.add("bmp", bytes([0x40 | f]) + r.nlri)
    for attr in (gen_bmp.pmsi_pim(3, "198.18.0.1", "239.192.0.1"),
                 gen_bmp.pmsi_pim(4, "2001:db8::1", "ff3e::1:1"),
                 gen_bmp.pmsi_rsvp(1, 7, "198.18.0.1"), gen_bmp.pmsi_ir("2001:db8::4", 3003),
                 gen_bmp.pmsi_mldp(2, "198.18.0.1", b"\x01\x00\x04\x00\x00\x00\x01"),
                 gen_bmp.pmsi_mldp(7, "198.18.0.1", b"")):
        s.add("bmp", b"\xc0" + attr[3:])  # flags, type and 1-byte length dropped


# fuzz_bgp_model's mode bytes for every stream (see the harness): (router 1's
# read size, router 2's, flags) and (clock step, settle, reload period).
BGP_MODEL_MODES = [
    (0 | 7 << 3, 2 | 2 << 3),                    # 1-byte reads / one read; 1 s, settle 60 s
    (4 | 2 << 3 | 0x40, 6 | 2 << 3 | 2 << 5),    # 256 / 16, discovery; 61 s, 60 s, reload every 4
    (6 | 0 << 3 | 0xc0, 3 | 3 << 3 | 1 << 5),    # 4 KiB / 1, tight caps, discovery; 5 s, 10 s, every read
    (2 | 3 << 3, 0),                              # 16 / 64; the clock stands, settle 0
]


def bgp_model_streams(gen_bmp):
    """Streams whose C-multicast routes name their upstream PE (a C-multicast
    Import RT, RFC 6514 11.1.3), with ORIGINATOR_IDs, replaced attributes
    (an MDT SAFI route's too), the same route from two peers, withdrawals and
    a peer going down: what makes C-group rows and P-tunnel rows come and go.
    gen_bmp.py's encoder."""
    g = gen_bmp
    A, C = g.A, g.C

    def rt4(addr):  # IPv4-address-specific Route Target (RFC 4360 3.2)
        return g.attr(0xc0, 16, struct.pack("!BB", 1, 2) + g.ip(addr) + b"\x00\x00")

    def rt6(addr):  # IPv6-address-specific Route Target (RFC 5701)
        return g.attr(0xc0, 25, struct.pack("!BB", 0, 2) + g.ip(addr) + b"\x00\x00")

    def originator(addr):  # RFC 4456 8
        return g.attr(0x80, 9, g.ip(addr))

    m = g.Model()
    j1 = g.r_join("mvpn4", 7, 65000, 1, 65000, "192.0.2.10", "233.252.0.10")
    j2 = g.r_join("mvpn4", 6, 65000, 1, 65000, "192.0.2.250", "233.252.0.50")
    j3 = g.r_join("mvpn4", 7, 65000, 2, 65000, "192.0.2.11", "233.252.0.11")
    j6 = g.r_join("mvpn6", 7, 65000, 11, 65000, "2001:db8:1::10", "ff3e::8000:10")
    t1 = [g.r_type1("mvpn4", 65000, n, "198.18.0.1") for n in (1, 2)]
    sa = g.r_type5("mvpn4", 65000, 1, "192.0.2.10", "233.252.0.10")
    s3 = g.r_type3("mvpn4", 65000, 1, "192.0.2.10", "233.252.0.10", "198.18.0.1")
    mdt = [g.r_mdt(65000, 1, "198.18.0.%d" % n, "239.192.0.%d" % k) for n, k in ((1, 1), (2, 2), (3, 7))]
    head = [g.initiation("rr", "fuzz_bgp_model seed"), g.peer_up(A, "198.18.0.100"),
            g.peer_up(C, "198.18.0.100")]
    body = [
        g.ann(m, A, 1, 66, "198.18.0.1", mdt),
        # An MDT SAFI route replaced: a PMSI Tunnel attribute is the one it keeps.
        g.ann(m, A, 1, 66, "198.18.0.1", mdt[:1], extra=g.pmsi_pim(3, "198.18.0.1", "239.192.0.1")),
        g.ann(m, A, 1, 5, "198.18.0.1", t1, extra=g.pmsi_pim(3, "198.18.0.1", "239.192.0.1")),
        g.ann(m, A, 1, 5, "198.18.0.1", [s3], extra=g.pmsi_ir("198.18.0.1", 100)),
        g.ann(m, A, 1, 5, "198.18.0.1", [j1, j2, j3], extra=rt4("198.18.0.1")),
        g.ann(m, C, 1, 5, "198.18.0.3", [j1], extra=rt4("198.18.0.2") + originator("198.18.0.5")),
        g.ann(m, A, 2, 5, "2001:db8::1", [j6], extra=rt6("2001:db8::1")),
        g.ann(m, A, 1, 5, "198.18.0.1", [sa], extra=originator("198.18.0.7") + rt4("198.18.0.1")),
        # The same NLRI again with other attributes: replaced.
        g.ann(m, A, 1, 5, "198.18.0.1", [j1], extra=rt4("198.18.0.2")),
        g.ann(m, A, 1, 5, "198.18.0.1", [s3], extra=g.pmsi_ir("198.18.0.1", 200)),
        g.ann(m, A, 1, 5, "198.18.0.1", [sa], extra=originator("198.18.0.8")),
        g.wd(m, A, 1, 5, [j2]),
        g.ann(m, A, 1, 5, "198.18.0.1", [j2], extra=rt4("198.18.0.4")),
    ]
    tail = [g.peer_down(C), g.wd(m, A, 1, 5, [j1, j3]), g.wd(m, A, 1, 66, mdt[:1]),
            g.termination(0)]
    whole = b"".join(head + body + tail)
    return [whole, b"".join(head + body)]


def seed_bgp_model(s):
    """fuzz_bgp_model: the BMP fixtures concatenated in step order (and the
    streams up to each step), each malformed message inside the whole stream
    after the routes, and bgp_model_streams(); each under BGP_MODEL_MODES."""
    d = os.path.join(TOP, "tests", "fixtures", "bmp")
    steps = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(d, "0*.bmp")))]
    streams = [b"".join(steps[:i]) for i in range(3, len(steps) + 1)]
    streams += [b"".join(steps[:3]) + open(p, "rb").read() + b"".join(steps[3:])
                for p in sorted(glob.glob(os.path.join(d, "malformed", "*.bmp")))]
    sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
    import gen_bmp
    streams += bgp_model_streams(gen_bmp)
    for st in streams:
        for m0, m1 in BGP_MODEL_MODES:
            s.add("bgp_model", bytes([m0, m1]) + st)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seeds.py OUTDIR")
    s = Seeds(sys.argv[1])
    for path in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.pcap"))):
        probe_capture = os.path.basename(path).startswith("probe")
        frames = read_pcap_timed(path)
        for linktype, frame, _ in frames:
            seed_frame(s, linktype, frame, probe_capture)
        seed_model(s, frames)
    confs = sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.conf")) +
                   glob.glob(os.path.join(TOP, "tests", "fuzz", "configs", "*")) +
                   [os.path.join(TOP, "mvpnmond.conf.example")])
    for path in confs:
        s.add("config", open(path, "rb").read())
    seed_bmp(s)
    seed_bgp_model(s)
    print("seeds: " + ", ".join("%s %d" % kv for kv in sorted(s.count.items())) +
          " (new files in %s)" % sys.argv[1])


if __name__ == "__main__":
    main()
