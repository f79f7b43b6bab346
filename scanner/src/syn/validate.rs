//! Deciding whether a received frame answers one of our probes.

use std::net::Ipv4Addr;

use super::cookie::ReplyKey;
use super::frame::{TCP_ACK, TCP_RST, TCP_SYN};
use super::parse::{Frame, Transport};

/// A validated answer to one of our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A SYN-ACK: the port is open.
    Open {
        /// Target address.
        ip: Ipv4Addr,
        /// Target port.
        port: u16,
        /// The timestamp the target echoed (our TSval), when it uses timestamps.
        echoed: Option<u32>,
    },
    /// A reset: the host is up, the port closed.
    Closed {
        /// Target address.
        ip: Ipv4Addr,
        /// Target port.
        port: u16,
    },
    /// An ICMP unreachable quoting our probe: something on the path filters it.
    Unreachable {
        /// Target address.
        ip: Ipv4Addr,
        /// Target port.
        port: u16,
    },
}

/// Checks received frames against the cookies of one scan: a stateless test, so it holds no
/// table and accepts a reply to any probe of the scan, retries included.
#[derive(Debug, Clone)]
pub struct ReplyValidator {
    key: ReplyKey,
    src_ip: Ipv4Addr,
    src_port: u16,
}

impl ReplyValidator {
    /// A validator for probes sent from `src_ip:src_port` with cookies under `key`.
    pub fn new(key: ReplyKey, src_ip: Ipv4Addr, src_port: u16) -> Self {
        Self { key, src_ip, src_port }
    }

    /// The reply `frame` carries, or `None` when it is not a genuine answer to one of our
    /// probes: malformed, truncated, for another address or port, or with a wrong cookie.
    pub fn check(&self, frame: &[u8]) -> Option<Reply> {
        let frame = Frame::parse(frame)?;
        match frame.transport {
            Transport::Tcp(tcp) => {
                if frame.ip.dst != self.src_ip || tcp.dst_port != self.src_port {
                    return None;
                }
                let (ip, port) = (frame.ip.src, tcp.src_port);
                let cookie = self.key.cookie(self.src_ip, ip, self.src_port, port);
                // Both a SYN-ACK and the reset that refuses a SYN acknowledge our ISN + 1.
                if tcp.flags & TCP_ACK == 0 || tcp.ack != cookie.wrapping_add(1) {
                    return None;
                }
                if tcp.flags & TCP_RST != 0 {
                    Some(Reply::Closed { ip, port })
                } else if tcp.flags & TCP_SYN != 0 {
                    Some(Reply::Open { ip, port, echoed: tcp.timestamps.map(|(_, ecr)| ecr) })
                } else {
                    None
                }
            }
            Transport::Unreachable(quoted) => {
                if frame.ip.dst != self.src_ip
                    || quoted.src != self.src_ip
                    || quoted.src_port != self.src_port
                {
                    return None;
                }
                let cookie =
                    self.key.cookie(self.src_ip, quoted.dst, self.src_port, quoted.dst_port);
                (quoted.seq == cookie)
                    .then_some(Reply::Unreachable { ip: quoted.dst, port: quoted.dst_port })
            }
            Transport::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syn::frame::{FRAME_LEN, FrameAddrs, ProbeFields, ProbeTemplate, fold, sum_words};

    const US: Ipv4Addr = Ipv4Addr::new(169, 254, 77, 1);
    const THEM: Ipv4Addr = Ipv4Addr::new(10, 77, 3, 4);
    const PORT: u16 = 61_999;

    fn key() -> ReplyKey {
        ReplyKey::from_bytes(*b"sonde-test-key!!")
    }

    fn validator() -> ReplyValidator {
        ReplyValidator::new(key(), US, PORT)
    }

    /// A reply from `THEM:80` built the way a target's stack builds one.
    fn tcp_reply(flags: u8, ack: u32, dst_port: u16, options: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + options.len();
        let mut f = vec![0x02, 0x5d, 0x6c, 0, 0, 1, 0x02, 0x5d, 0x6c, 0, 0, 2, 0x08, 0x00];
        f.extend([0x45, 0, 0, (20 + tcp_len) as u8, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend(THEM.octets());
        f.extend(US.octets());
        f.extend(80u16.to_be_bytes());
        f.extend(dst_port.to_be_bytes());
        f.extend(0x1234_5678u32.to_be_bytes());
        f.extend(ack.to_be_bytes());
        f.extend([((tcp_len / 4) as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend(options);
        f
    }

    fn cookie_to(port: u16) -> u32 {
        key().cookie(US, THEM, PORT, port)
    }

    #[test]
    fn a_syn_ack_with_our_cookie_is_open() {
        let ts = [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0x30, 0x39];
        let frame = tcp_reply(TCP_SYN | TCP_ACK, cookie_to(80).wrapping_add(1), PORT, &ts);
        assert_eq!(
            validator().check(&frame),
            Some(Reply::Open { ip: THEM, port: 80, echoed: Some(12_345) })
        );
        let bare = tcp_reply(TCP_SYN | TCP_ACK, cookie_to(80).wrapping_add(1), PORT, &[]);
        assert_eq!(
            validator().check(&bare),
            Some(Reply::Open { ip: THEM, port: 80, echoed: None })
        );
    }

    #[test]
    fn a_reset_with_our_cookie_is_closed() {
        let frame = tcp_reply(TCP_RST | TCP_ACK, cookie_to(80).wrapping_add(1), PORT, &[]);
        assert_eq!(validator().check(&frame), Some(Reply::Closed { ip: THEM, port: 80 }));
    }

    #[test]
    fn forged_and_foreign_replies_are_dropped() {
        let good = cookie_to(80).wrapping_add(1);
        let cases: [(&str, Vec<u8>, ReplyValidator); 8] = [
            ("wrong ack", tcp_reply(TCP_SYN | TCP_ACK, good ^ 1, PORT, &[]), validator()),
            (
                "ack = cookie",
                tcp_reply(TCP_SYN | TCP_ACK, good.wrapping_sub(1), PORT, &[]),
                validator(),
            ),
            ("wrong port", tcp_reply(TCP_SYN | TCP_ACK, good, PORT + 1, &[]), validator()),
            (
                "wrong key",
                tcp_reply(TCP_SYN | TCP_ACK, good, PORT, &[]),
                ReplyValidator::new(ReplyKey::from_bytes([7; 16]), US, PORT),
            ),
            (
                "another source address",
                tcp_reply(TCP_SYN | TCP_ACK, good, PORT, &[]),
                ReplyValidator::new(key(), Ipv4Addr::new(169, 254, 77, 5), PORT),
            ),
            ("no ACK flag", tcp_reply(TCP_SYN, good, PORT, &[]), validator()),
            ("a bare ACK", tcp_reply(TCP_ACK, good, PORT, &[]), validator()),
            ("garbage", vec![0xab; 60], validator()),
        ];
        for (what, frame, validator) in cases {
            assert_eq!(validator.check(&frame), None, "{what}");
        }
        // A reply for 80 claiming to be from 81: its cookie is 80's, not 81's.
        let mut moved = tcp_reply(TCP_SYN | TCP_ACK, good, PORT, &[]);
        moved[34..36].copy_from_slice(&81u16.to_be_bytes());
        assert_eq!(validator().check(&moved), None, "cookie of another port");
    }

    #[test]
    fn truncated_replies_are_dropped_without_panic() {
        let frame = tcp_reply(TCP_SYN | TCP_ACK, cookie_to(80).wrapping_add(1), PORT, &[]);
        assert!(validator().check(&frame).is_some());
        for len in 0..frame.len() {
            assert_eq!(validator().check(&frame[..len]), None, "{len} bytes");
        }
    }

    #[test]
    fn an_unreachable_quoting_our_probe_counts_and_a_forged_one_does_not() {
        let seq = cookie_to(443);
        let mut probe = [0u8; FRAME_LEN];
        let template = ProbeTemplate::new(&FrameAddrs {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: US,
        });
        let fields =
            ProbeFields { dst_ip: THEM, dst_port: 443, src_port: PORT, seq, ip_id: 9, tsval: 1 };
        template.write(&fields, &mut probe);
        let icmp = |quoted: &[u8]| {
            let mut f = vec![0x02, 0x5d, 0x6c, 0, 0, 1, 0x02, 0x5d, 0x6c, 0, 0, 2, 0x08, 0x00];
            let total = (20 + 8 + quoted.len()) as u16;
            f.extend([0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0, 0, 64, 1, 0, 0]);
            f.extend([10, 77, 0, 1]);
            f.extend(US.octets());
            let mut body = vec![3, 13, 0, 0, 0, 0, 0, 0];
            body.extend(quoted);
            let sum = fold(sum_words(&body));
            body[2..4].copy_from_slice(&sum.to_be_bytes());
            f.extend(body);
            f
        };
        // Routers quote the IP header and 8 bytes of TCP.
        let quoted = &probe[14..14 + 28];
        assert_eq!(
            validator().check(&icmp(quoted)),
            Some(Reply::Unreachable { ip: THEM, port: 443 })
        );
        let mut forged = quoted.to_vec();
        forged[24] ^= 0x80;
        assert_eq!(validator().check(&icmp(&forged)), None, "quoted sequence is not ours");
        assert_eq!(validator().check(&icmp(&quoted[..27])), None, "quote too short");
    }
}
