//! DNS: the answer to a `version.bind` TXT query in class CHAOS, which BIND, dnsmasq,
//! Unbound, Knot and PowerDNS answer with their name and version unless told not to.
//! Parsed with `hickory-proto` (through `hickory-resolver`, which Sonde uses for reverse
//! DNS).

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::RData;

use super::Fields;

/// ID 0x5344 ("SD"), no recursion, one question: `version.bind` TXT CH.
pub(crate) const QUERY: &[u8] = b"\x53\x44\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
\x07version\x04bind\x00\x00\x10\x00\x03";

/// The same query with DNS over TCP's two-byte length prefix.
pub(crate) const TCP_QUERY: &[u8] = b"\x00\x1e\x53\x44\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
\x07version\x04bind\x00\x00\x10\x00\x03";

pub(super) fn decode(data: &[u8], tcp: bool, out: &mut Fields) -> bool {
    let message = match tcp {
        true => {
            data.get(2..).filter(|m| usize::from(u16::from_be_bytes([data[0], data[1]])) <= m.len())
        }
        false => Some(data),
    };
    let Some(message) = message else { return false };
    let Ok(message) = Message::from_vec(message) else { return false };
    if message.metadata.id != 0x5344 {
        return false;
    }
    let code = message.metadata.response_code;
    if code != ResponseCode::NoError {
        out.push("dns.rcode", u16::from(code).to_string());
    }
    for record in &message.answers {
        if let RData::TXT(txt) = &record.data {
            let text: Vec<u8> = txt.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            out.push("dns.version", text);
        }
    }
    // An answer with nothing to say (REFUSED to a query it does not serve) still shows a
    // DNS server.
    out.push("dns.server", "yes");
    true
}

#[cfg(test)]
mod tests {
    use crate::probes::decode::Decoder;

    use super::*;

    #[test]
    fn the_tcp_query_is_the_udp_one_with_its_length() {
        assert_eq!(&TCP_QUERY[2..], QUERY);
        assert_eq!(usize::from(u16::from_be_bytes([TCP_QUERY[0], TCP_QUERY[1]])), QUERY.len());
    }

    /// dnsmasq's answer over TCP (as the `dns.dnsmasq` signature's example holds it) and the
    /// same answer over UDP; a server that refuses.
    #[test]
    fn version_answers_become_fields() {
        let tcp = b"\x00\x37\x53\x44\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00\x07version\x04bind\
\x00\x00\x10\x00\x03\xc0\x0c\x00\x10\x00\x03\x00\x00\x00\x00\x00\x0d\x0cdnsmasq-2.89";
        let want = Some("dns.version: dnsmasq-2.89\ndns.server: yes\n");
        assert_eq!(Decoder::DnsVersion { tcp: true }.decode(tcp).as_deref(), want);
        assert_eq!(Decoder::DnsVersion { tcp: false }.decode(&tcp[2..]).as_deref(), want);
        let refused = b"\x53\x44\x80\x05\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\
\x00\x00\x10\x00\x03";
        assert_eq!(
            Decoder::DnsVersion { tcp: false }.decode(refused).as_deref(),
            Some("dns.rcode: 5\ndns.server: yes\n")
        );
        for n in 0..tcp.len() {
            let _ = Decoder::DnsVersion { tcp: true }.decode(&tcp[..n]);
        }
    }
}
