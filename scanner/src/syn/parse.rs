//! A reader of received frames. Everything in a received frame is attacker-controlled: every
//! length is checked against the bytes actually there, and anything odd is `None`, never a
//! panic.

use std::net::Ipv4Addr;

use super::frame::ETH_LEN;

/// ICMP type "destination unreachable".
pub(crate) const ICMP_UNREACHABLE: u8 = 3;

/// An Ethernet frame carrying IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) dst_mac: [u8; 6],
    pub(crate) src_mac: [u8; 6],
    pub(crate) ip: Ipv4Header,
    pub(crate) transport: Transport,
}

/// The IPv4 header fields the engine looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4Header {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) id: u16,
    pub(crate) ttl: u8,
}

/// What the IPv4 packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A TCP segment.
    Tcp(TcpHeader),
    /// ICMP destination unreachable, quoting the start of the packet that caused it.
    Unreachable(Quoted),
    /// Anything else.
    Other,
}

/// A TCP header and the options a SYN or SYN-ACK carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TcpHeader {
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    pub(crate) mss: Option<u16>,
    pub(crate) sack_permitted: bool,
    /// (TSval, TSecr).
    pub(crate) timestamps: Option<(u32, u32)>,
    pub(crate) window_scale: Option<u8>,
}

/// The IPv4 addresses and first 8 TCP bytes an ICMP error quotes (RFC 792 guarantees 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quoted {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) seq: u32,
}

impl Frame {
    /// Reads an Ethernet II frame with an unfragmented IPv4 packet; `None` for anything else
    /// or anything truncated.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Frame> {
        let eth = bytes.get(..ETH_LEN)?;
        if eth[12..14] != [0x08, 0x00] {
            return None;
        }
        let (ip, protocol, payload) = ipv4(&bytes[ETH_LEN..])?;
        let transport = match protocol {
            6 => Transport::Tcp(tcp(payload)?),
            1 if payload.first() == Some(&ICMP_UNREACHABLE) => {
                let (inner, inner_protocol, quoted) = ipv4_quoted(payload.get(8..)?)?;
                if inner_protocol != 6 {
                    return None;
                }
                let q = quoted.get(..8)?;
                Transport::Unreachable(Quoted {
                    src: inner.src,
                    dst: inner.dst,
                    src_port: be16(q, 0),
                    dst_port: be16(q, 2),
                    seq: be32(q, 4),
                })
            }
            _ => Transport::Other,
        };
        Some(Frame {
            dst_mac: eth[0..6].try_into().ok()?,
            src_mac: eth[6..12].try_into().ok()?,
            ip,
            transport,
        })
    }
}

/// An IPv4 header, its protocol and its payload (cut at the total length: Ethernet pads
/// short frames). Fragments are refused: a probe's reply is never fragmented.
fn ipv4(bytes: &[u8]) -> Option<(Ipv4Header, u8, &[u8])> {
    let (header, protocol, rest) = ipv4_quoted(bytes)?;
    let total = usize::from(be16(bytes, 2));
    let header_len = bytes.len() - rest.len();
    if be16(bytes, 6) & 0x3fff != 0 || total < header_len {
        return None;
    }
    Some((header, protocol, bytes.get(header_len..total)?))
}

/// An IPv4 header as quoted in an ICMP error, where the total length describes the original
/// packet, not what is quoted.
fn ipv4_quoted(bytes: &[u8]) -> Option<(Ipv4Header, u8, &[u8])> {
    let first = *bytes.first()?;
    let header_len = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || header_len < 20 {
        return None;
    }
    let h = bytes.get(..header_len)?;
    let header = Ipv4Header {
        src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
        dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
        id: be16(h, 4),
        ttl: h[8],
    };
    Some((header, h[9], &bytes[header_len..]))
}

fn tcp(bytes: &[u8]) -> Option<TcpHeader> {
    let fixed = bytes.get(..20)?;
    let header_len = usize::from(fixed[12] >> 4) * 4;
    let options = bytes.get(20..header_len)?;
    let mut tcp = TcpHeader {
        src_port: be16(fixed, 0),
        dst_port: be16(fixed, 2),
        seq: be32(fixed, 4),
        ack: be32(fixed, 8),
        flags: fixed[13],
        window: be16(fixed, 14),
        ..TcpHeader::default()
    };
    let mut rest = options;
    // Malformed options end the walk; the fixed header is still good.
    while let Some((&kind, tail)) = rest.split_first() {
        match kind {
            0 => break,
            1 => {
                rest = tail;
                continue;
            }
            _ => {}
        }
        let Some(&len) = tail.first() else { break };
        let Some(option) = rest.get(..usize::from(len)).filter(|_| len >= 2) else { break };
        match (kind, option.len()) {
            (2, 4) => tcp.mss = Some(be16(option, 2)),
            (3, 3) => tcp.window_scale = Some(option[2]),
            (4, 2) => tcp.sack_permitted = true,
            (8, 10) => tcp.timestamps = Some((be32(option, 2), be32(option, 6))),
            _ => {}
        }
        rest = &rest[option.len()..];
    }
    Some(tcp)
}

/// Callers have checked that `bytes` holds `at + 2` bytes.
fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Callers have checked that `bytes` holds `at + 4` bytes.
fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_truncation_of_a_frame_is_refused_without_panic() {
        let mut frame = vec![0u8; 14];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        // IPv4 20 bytes, total 40, TCP; TCP 20 bytes, no options.
        frame.extend([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        frame.extend([0, 80, 0xef, 0x32, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x12, 0xff, 0xff]);
        frame.extend([0, 0, 0, 0]);
        assert!(matches!(Frame::parse(&frame).map(|f| f.transport), Some(Transport::Tcp(_))));
        for len in 0..frame.len() {
            assert_eq!(Frame::parse(&frame[..len]), None, "truncated to {len} bytes");
        }
    }

    #[test]
    fn garbage_never_panics() {
        // A fixed-seed walk over random and half-valid frames.
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 120) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len > 24 && next() % 2 == 0 {
                bytes[12..14].copy_from_slice(&[0x08, 0x00]);
                bytes[14] = 0x45;
                bytes[23] = [1, 6][(next() % 2) as usize];
            }
            let _ = Frame::parse(&bytes);
        }
    }

    #[test]
    fn options_with_bad_lengths_end_the_walk() {
        let mut header = [0u8; 28];
        header[12] = 7 << 4;
        header[20..28].copy_from_slice(&[2, 4, 0x05, 0xb4, 3, 0, 1, 1]);
        let tcp = tcp(&header).expect("the fixed header is fine");
        assert_eq!(tcp.mss, Some(1460));
        assert_eq!(tcp.window_scale, None, "a zero-length option is not read");
        header[24..28].copy_from_slice(&[8, 10, 0, 0]);
        assert_eq!(super::tcp(&header).expect("fine").timestamps, None, "option past the end");
    }
}
