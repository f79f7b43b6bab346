//! The probe frame: Ethernet, IPv4 and a TCP SYN with the options a Linux client sends.
//!
//! Everything that is the same for every probe of a scan is written once into a template and
//! pre-summed for both checksums; a probe then copies the template and writes its own fields
//! and the two checksums, finished from the pre-computed sums (RFC 1624 style), so a frame
//! costs a 74-byte copy and a few dozen additions, with no allocation.

use std::net::Ipv4Addr;

/// Bytes in a probe frame: Ethernet 14 + IPv4 20 + TCP 20 + options 20.
pub const FRAME_LEN: usize = 74;

/// Offsets inside the frame.
pub(crate) const ETH_LEN: usize = 14;
const IP: usize = ETH_LEN;
const IP_ID: usize = IP + 4;
const IP_CHECKSUM: usize = IP + 10;
const IP_SRC: usize = IP + 12;
const IP_DST: usize = IP + 16;
const TCP: usize = IP + 20;
const TCP_SRC_PORT: usize = TCP;
const TCP_DST_PORT: usize = TCP + 2;
const TCP_SEQ: usize = TCP + 4;
const TCP_CHECKSUM: usize = TCP + 16;
/// The timestamp option's TSval, after MSS (4 bytes), SACK permitted (2) and `kind 8, len 10`.
const TCP_TSVAL: usize = TCP + 28;
const TCP_LEN: usize = FRAME_LEN - TCP;

/// TCP flag bits.
pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_RST: u8 = 0x04;
pub(crate) const TCP_ACK: u8 = 0x10;

/// The window Linux 6.x offers in a SYN on Ethernet.
const WINDOW: u16 = 64_240;

/// Options in the order Linux writes them: MSS 1460, SACK permitted, timestamps (TSval filled
/// per probe, TSecr 0), NOP, window scale 7. A SYN without options is dropped by some stacks
/// and stands out to anyone who fingerprints scanners.
const OPTIONS: [u8; 20] = [
    2, 4, 0x05, 0xb4, // MSS 1460
    4, 2, // SACK permitted
    8, 10, 0, 0, 0, 0, 0, 0, 0, 0, // timestamps
    1, // NOP
    3, 3, 7, // window scale
];

/// Link and network addresses every probe of a scan shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAddrs {
    /// Our interface's MAC.
    pub src_mac: [u8; 6],
    /// The next hop's MAC (the router, or the target when on-link).
    pub dst_mac: [u8; 6],
    /// Our source address.
    pub src_ip: Ipv4Addr,
}

/// What differs between two probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeFields {
    /// Target address.
    pub dst_ip: Ipv4Addr,
    /// Target port.
    pub dst_port: u16,
    /// Our port.
    pub src_port: u16,
    /// Sequence number: the reply cookie.
    pub seq: u32,
    /// IPv4 identification, random per probe.
    pub ip_id: u16,
    /// TCP timestamp value; a SYN-ACK echoes it, which gives the round-trip time.
    pub tsval: u32,
}

/// A prepared frame and the partial checksums of its constant part.
#[derive(Debug, Clone)]
pub struct ProbeTemplate {
    frame: [u8; FRAME_LEN],
    /// Ones'-complement sum of the IPv4 header without identification, checksum and
    /// destination.
    ip_sum: u64,
    /// Sum of the TCP pseudo-header and segment without the per-probe fields.
    tcp_sum: u64,
}

impl ProbeTemplate {
    /// A template for probes from `addrs`.
    pub fn new(addrs: &FrameAddrs) -> Self {
        let mut frame = [0u8; FRAME_LEN];
        frame[0..6].copy_from_slice(&addrs.dst_mac);
        frame[6..12].copy_from_slice(&addrs.src_mac);
        frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        // IPv4: version 4, 5 words, total length, don't fragment, TTL 64, TCP.
        frame[IP] = 0x45;
        frame[IP + 2..IP + 4].copy_from_slice(&((FRAME_LEN - IP) as u16).to_be_bytes());
        frame[IP + 6] = 0x40;
        frame[IP + 8] = 64;
        frame[IP + 9] = 6;
        frame[IP_SRC..IP_SRC + 4].copy_from_slice(&addrs.src_ip.octets());
        // TCP: 10-word header, SYN, window, options.
        frame[TCP + 12] = ((TCP_LEN / 4) as u8) << 4;
        frame[TCP + 13] = TCP_SYN;
        frame[TCP + 14..TCP + 16].copy_from_slice(&WINDOW.to_be_bytes());
        frame[TCP + 20..].copy_from_slice(&OPTIONS);

        // The variable fields are still zero here, so they add nothing to the sums.
        let ip_sum = sum_words(&frame[IP..TCP]);
        let pseudo = sum_words(&addrs.src_ip.octets()) + 6 + TCP_LEN as u64;
        let tcp_sum = pseudo + sum_words(&frame[TCP..]);
        Self { frame, ip_sum, tcp_sum }
    }

    /// Writes the probe for `fields` into `out`.
    #[inline]
    pub fn write(&self, fields: &ProbeFields, out: &mut [u8; FRAME_LEN]) {
        *out = self.frame;
        let dst = u32::from(fields.dst_ip);
        out[IP_ID..IP_ID + 2].copy_from_slice(&fields.ip_id.to_be_bytes());
        out[IP_DST..IP_DST + 4].copy_from_slice(&dst.to_be_bytes());
        out[TCP_SRC_PORT..TCP_SRC_PORT + 2].copy_from_slice(&fields.src_port.to_be_bytes());
        out[TCP_DST_PORT..TCP_DST_PORT + 2].copy_from_slice(&fields.dst_port.to_be_bytes());
        out[TCP_SEQ..TCP_SEQ + 4].copy_from_slice(&fields.seq.to_be_bytes());
        out[TCP_TSVAL..TCP_TSVAL + 4].copy_from_slice(&fields.tsval.to_be_bytes());

        let dst_sum = u64::from(dst >> 16) + u64::from(dst & 0xffff);
        let ip = self.ip_sum + u64::from(fields.ip_id) + dst_sum;
        out[IP_CHECKSUM..IP_CHECKSUM + 2].copy_from_slice(&fold(ip).to_be_bytes());
        let tcp = self.tcp_sum
            + dst_sum
            + u64::from(fields.src_port)
            + u64::from(fields.dst_port)
            + u64::from(fields.seq >> 16)
            + u64::from(fields.seq & 0xffff)
            + u64::from(fields.tsval >> 16)
            + u64::from(fields.tsval & 0xffff);
        out[TCP_CHECKSUM..TCP_CHECKSUM + 2].copy_from_slice(&fold(tcp).to_be_bytes());
    }
}

/// The sum of big-endian 16-bit words (an odd last byte is padded with zero), unfolded.
pub(crate) fn sum_words(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(2);
    let mut sum: u64 = chunks.by_ref().map(|w| u64::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a sum into 16 bits and complements it: the Internet checksum (RFC 1071).
#[inline]
pub(crate) fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syn::parse::{Frame, Transport};

    const ADDRS: FrameAddrs = FrameAddrs {
        src_mac: [0x02, 0x5d, 0x6c, 0, 0, 1],
        dst_mac: [0x02, 0x5d, 0x6c, 0, 0, 2],
        src_ip: Ipv4Addr::new(169, 254, 77, 1),
    };

    /// The RFC 1071 checksum computed the slow, obvious way: byte pairs, end-around carry.
    fn reference_checksum(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
            sum += word;
            if sum > 0xffff {
                sum = (sum & 0xffff) + 1;
            }
        }
        !(sum as u16)
    }

    fn fields(i: u32) -> ProbeFields {
        ProbeFields {
            dst_ip: Ipv4Addr::from(0x0a4d_0000 | (i.wrapping_mul(2_654_435_761) & 0xffff)),
            dst_port: (i.wrapping_mul(40_503) % 65_535 + 1) as u16,
            src_port: 61_234,
            seq: i.wrapping_mul(0x9e37_79b9) ^ 0xdead_beef,
            ip_id: (i.wrapping_mul(7_919) & 0xffff) as u16,
            tsval: i.wrapping_mul(1_000_003),
        }
    }

    #[test]
    fn frames_parse_back_with_the_fields_written() {
        let template = ProbeTemplate::new(&ADDRS);
        let mut out = [0u8; FRAME_LEN];
        for i in [0, 1, 2, 0xffff, 0x1234_5678, u32::MAX] {
            let f = fields(i);
            template.write(&f, &mut out);
            let frame = Frame::parse(&out).expect("our own frame parses");
            assert_eq!(frame.dst_mac, ADDRS.dst_mac);
            assert_eq!(frame.src_mac, ADDRS.src_mac);
            assert_eq!((frame.ip.src, frame.ip.dst), (ADDRS.src_ip, f.dst_ip));
            assert_eq!(frame.ip.ttl, 64);
            assert_eq!(frame.ip.id, f.ip_id);
            let Transport::Tcp(tcp) = frame.transport else { panic!("not TCP: {frame:?}") };
            assert_eq!((tcp.src_port, tcp.dst_port), (f.src_port, f.dst_port));
            assert_eq!((tcp.seq, tcp.ack), (f.seq, 0));
            assert_eq!(tcp.flags, TCP_SYN);
            assert_eq!(tcp.window, WINDOW);
            assert_eq!(tcp.mss, Some(1460));
            assert!(tcp.sack_permitted);
            assert_eq!(tcp.timestamps, Some((f.tsval, 0)));
            assert_eq!(tcp.window_scale, Some(7));
        }
    }

    #[test]
    fn checksums_match_a_reference_computation() {
        let template = ProbeTemplate::new(&ADDRS);
        let mut out = [0u8; FRAME_LEN];
        for i in 0..2_000 {
            let f = fields(i);
            template.write(&f, &mut out);
            // A correct IPv4 header sums to zero with its checksum in place.
            assert_eq!(reference_checksum(&out[IP..TCP]), 0, "IP checksum of probe {i}");
            let mut pseudo = Vec::from(ADDRS.src_ip.octets());
            pseudo.extend(f.dst_ip.octets());
            pseudo.extend([0, 6]);
            pseudo.extend((TCP_LEN as u16).to_be_bytes());
            pseudo.extend(&out[TCP..]);
            assert_eq!(reference_checksum(&pseudo), 0, "TCP checksum of probe {i}");
        }
    }

    #[test]
    fn the_frame_is_what_linux_sends() {
        let mut out = [0u8; FRAME_LEN];
        ProbeTemplate::new(&ADDRS).write(&fields(3), &mut out);
        assert_eq!(&out[12..14], &[0x08, 0x00], "IPv4 ethertype");
        assert_eq!(out[IP], 0x45);
        assert_eq!(u16::from_be_bytes([out[IP + 2], out[IP + 3]]), 60, "IP total length");
        assert_eq!(out[IP + 6], 0x40, "don't fragment");
        assert_eq!(out[TCP + 12] >> 4, 10, "TCP data offset in words");
        assert_eq!(&out[TCP + 20..], &{
            let mut o = OPTIONS;
            o[4 + 2 + 2..4 + 2 + 6].copy_from_slice(&fields(3).tsval.to_be_bytes());
            o
        });
    }

    #[test]
    fn fold_carries_around() {
        assert_eq!(fold(0), 0xffff);
        assert_eq!(fold(0xffff), 0);
        assert_eq!(fold(0x1_0000), 0xfffe);
        assert_eq!(fold(0xffff_ffff_ffff), 0);
        assert_eq!(sum_words(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }
}
