//! ARP frames for IPv4 over Ethernet (RFC 826): requests written into a caller's buffer, and
//! replies read with every length and type checked.

use std::net::Ipv4Addr;

use crate::MacAddr;

/// Bytes in a request: Ethernet 14 + ARP 28. Drivers pad it to the 60-byte minimum.
pub(crate) const REQUEST_LEN: usize = 42;
/// EtherType of ARP.
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
/// ARP operations.
pub(crate) const OP_REQUEST: u16 = 1;
pub(crate) const OP_REPLY: u16 = 2;
/// Offsets inside the frame.
const ARP: usize = 14;
const OP: usize = ARP + 6;
const SENDER_MAC: usize = ARP + 8;
const SENDER_IP: usize = ARP + 14;
/// Where the target address sits; the receive filter reads it too.
pub(crate) const TARGET_IP: usize = ARP + 24;

/// A request with everything but the asked address filled in.
#[derive(Debug, Clone)]
pub(crate) struct RequestTemplate {
    frame: [u8; REQUEST_LEN],
}

impl RequestTemplate {
    /// Requests broadcast from `src_mac`, `src_ip`.
    pub(crate) fn new(src_mac: MacAddr, src_ip: Ipv4Addr) -> Self {
        let mut frame = [0u8; REQUEST_LEN];
        frame[0..6].copy_from_slice(&[0xff; 6]);
        frame[6..12].copy_from_slice(&src_mac.0);
        frame[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        // Hardware Ethernet (1), protocol IPv4, address lengths 6 and 4.
        frame[ARP..ARP + 6].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
        frame[OP..OP + 2].copy_from_slice(&OP_REQUEST.to_be_bytes());
        frame[SENDER_MAC..SENDER_MAC + 6].copy_from_slice(&src_mac.0);
        frame[SENDER_IP..SENDER_IP + 4].copy_from_slice(&src_ip.octets());
        // The target MAC stays zero: it is what is asked.
        Self { frame }
    }

    /// Writes the request for `ip` into `out`.
    #[inline]
    pub(crate) fn write(&self, ip: Ipv4Addr, out: &mut [u8; REQUEST_LEN]) {
        *out = self.frame;
        out[TARGET_IP..TARGET_IP + 4].copy_from_slice(&ip.octets());
    }
}

/// The (address, MAC) a reply to `our_ip` announces, or `None` for anything else: another
/// protocol, a request, a reply to someone else, a truncated frame, or a sender MAC that is
/// zero, broadcast or multicast.
pub(crate) fn parse_reply(frame: &[u8], our_ip: Ipv4Addr) -> Option<(Ipv4Addr, MacAddr)> {
    let field = |at: usize, len: usize| frame.get(at..at + len);
    if field(12, 2)? != ETHERTYPE_ARP.to_be_bytes()
        || field(ARP, 6)? != [0, 1, 0x08, 0x00, 6, 4]
        || field(OP, 2)? != OP_REPLY.to_be_bytes()
        || field(TARGET_IP, 4)? != our_ip.octets()
    {
        return None;
    }
    let mac = MacAddr(field(SENDER_MAC, 6)?.try_into().ok()?);
    let ip = Ipv4Addr::from(<[u8; 4]>::try_from(field(SENDER_IP, 4)?).ok()?);
    // Group addresses (the multicast bit) and zero are never a host's own.
    (mac.0[0] & 1 == 0 && mac.0 != [0; 6]).then_some((ip, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const OUR_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const THEIR_MAC: MacAddr = MacAddr([0, 0, 0x0c, 1, 2, 3]);

    /// The reply a host at `ip` would send to our request, built from the request itself.
    fn reply_to(request: &[u8; REQUEST_LEN], ip: Ipv4Addr, mac: MacAddr) -> Vec<u8> {
        let mut f = request.to_vec();
        f[0..6].copy_from_slice(&OUR_MAC.0);
        f[6..12].copy_from_slice(&mac.0);
        f[OP..OP + 2].copy_from_slice(&OP_REPLY.to_be_bytes());
        f[ARP + 18..ARP + 24].copy_from_slice(&OUR_MAC.0);
        f[TARGET_IP..TARGET_IP + 4].copy_from_slice(&US.octets());
        f[SENDER_MAC..SENDER_MAC + 6].copy_from_slice(&mac.0);
        f[SENDER_IP..SENDER_IP + 4].copy_from_slice(&ip.octets());
        f.resize(60, 0);
        f
    }

    #[test]
    fn a_request_asks_for_one_address() {
        let mut frame = [0u8; REQUEST_LEN];
        let target = Ipv4Addr::new(192, 0, 2, 77);
        RequestTemplate::new(OUR_MAC, US).write(target, &mut frame);
        let expected: [u8; REQUEST_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, // Ethernet
            0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet/IPv4, request
            2, 0, 0, 0, 0, 1, 192, 0, 2, 1, // sender
            0, 0, 0, 0, 0, 0, 192, 0, 2, 77, // target
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn replies_are_read_and_everything_else_rejected() {
        let mut request = [0u8; REQUEST_LEN];
        let ip = Ipv4Addr::new(192, 0, 2, 77);
        RequestTemplate::new(OUR_MAC, US).write(ip, &mut request);
        let reply = reply_to(&request, ip, THEIR_MAC);
        assert_eq!(parse_reply(&reply, US), Some((ip, THEIR_MAC)));
        assert_eq!(parse_reply(&request, US), None, "a request");
        assert_eq!(parse_reply(&reply, Ipv4Addr::new(192, 0, 2, 2)), None, "not for us");
        for cut in [0, 13, 20, 41] {
            assert_eq!(parse_reply(&reply[..cut], US), None, "truncated at {cut}");
        }
        let mut ipv6 = reply.clone();
        ipv6[ARP + 2..ARP + 4].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse_reply(&ipv6, US), None, "another protocol");
        let mut ip_frame = reply.clone();
        ip_frame[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(parse_reply(&ip_frame, US), None, "IPv4, not ARP");
        let multicast = reply_to(&request, ip, MacAddr([1, 0, 0x5e, 0, 0, 1]));
        assert_eq!(parse_reply(&multicast, US), None, "a group address");
        assert_eq!(parse_reply(&reply_to(&request, ip, MacAddr([0; 6])), US), None);
    }

    /// Hostile input: every truncation and every single-byte change of a valid reply is read
    /// without a panic, and a change to a checked field is rejected.
    #[test]
    fn mangled_replies_never_panic() {
        let mut request = [0u8; REQUEST_LEN];
        let ip = Ipv4Addr::new(192, 0, 2, 77);
        RequestTemplate::new(OUR_MAC, US).write(ip, &mut request);
        let reply = reply_to(&request, ip, THEIR_MAC);
        for len in 0..=reply.len() {
            let _ = parse_reply(&reply[..len], US);
        }
        for at in 0..reply.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut mangled = reply.clone();
                mangled[at] ^= flip;
                let parsed = parse_reply(&mangled, US);
                let checked =
                    (12..OP + 2).contains(&at) || (TARGET_IP..TARGET_IP + 4).contains(&at);
                if checked {
                    assert_eq!(parsed, None, "byte {at} ^ {flip:#x}");
                }
            }
        }
    }
}
