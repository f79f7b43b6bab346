//! RDP: an X.224 Connection Request carrying an RDP Negotiation Request ([MS-RDPBCGR]
//! 2.2.1.1), inside TPKT (RFC 1006). The Connection Confirm says which security protocol
//! the server picked, or why it refused, before any credential is involved.

use super::Fields;

/// TPKT (version 3, length 19), X.224 CR (length indicator 14, code 0xE0, references and
/// class 0), RDP_NEG_REQ asking for TLS, CredSSP and CredSSP with early user authorization.
pub(crate) const REQUEST: &[u8] =
    b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x0b\x00\x00\x00";

/// X.224 Connection Confirm.
const CONNECTION_CONFIRM: u8 = 0xd0;
const NEG_RSP: u8 = 0x02;
const NEG_FAILURE: u8 = 0x03;

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    // TPKT: version 3, reserved, big-endian length of the whole packet.
    let [3, 0, hi, lo, rest @ ..] = data else { return false };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    // X.224: length indicator, then the code in the high nibble.
    let [li, code, tpdu @ ..] = rest else { return false };
    if len < 11 || code & 0xf0 != CONNECTION_CONFIRM || usize::from(*li) + 5 != len.min(data.len())
    {
        return false;
    }
    out.push("rdp.x224", "connection-confirm");
    // Destination reference, source reference, class: 5 bytes, then the negotiation data.
    match tpdu.get(5..13) {
        Some([NEG_RSP, flags, 8, 0, p0, p1, p2, p3]) => {
            let selected = u32::from_le_bytes([*p0, *p1, *p2, *p3]);
            out.push("rdp.selected", protocol_name(selected));
            out.push("rdp.flags", format!("0x{flags:02x}"));
        }
        Some([NEG_FAILURE, _, 8, 0, c0, c1, c2, c3]) => {
            let code = u32::from_le_bytes([*c0, *c1, *c2, *c3]);
            out.push("rdp.failure", failure_name(code));
        }
        // No negotiation data: a server from before RDP 5.2, standard RDP security only.
        _ => out.push("rdp.selected", "rdp"),
    }
    true
}

fn protocol_name(p: u32) -> String {
    match p {
        0 => "rdp".into(),
        1 => "ssl".into(),
        2 => "hybrid".into(),
        4 => "rdstls".into(),
        8 => "hybrid_ex".into(),
        other => format!("0x{other:08x}"),
    }
}

fn failure_name(code: u32) -> String {
    match code {
        1 => "ssl_required_by_server".into(),
        2 => "ssl_not_allowed_by_server".into(),
        3 => "ssl_cert_not_on_server".into(),
        4 => "inconsistent_flags".into(),
        5 => "hybrid_required_by_server".into(),
        6 => "ssl_with_user_auth_required_by_server".into(),
        other => format!("0x{other:08x}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::probes::decode::Decoder;

    use super::*;

    #[test]
    fn the_request_is_a_tpkt_wrapped_connection_request() {
        assert_eq!(usize::from(u16::from_be_bytes([REQUEST[2], REQUEST[3]])), REQUEST.len());
        assert_eq!(usize::from(REQUEST[4]) + 5, REQUEST.len(), "X.224 length indicator");
        assert_eq!(REQUEST[5], 0xe0);
        assert_eq!(&REQUEST[11..15], b"\x01\x00\x08\x00", "RDP_NEG_REQ, 8 bytes");
    }

    /// Connection Confirms written from [MS-RDPBCGR] 2.2.1.2 (and its 4.1.2 example): a
    /// Windows server choosing CredSSP with every flag, xrdp choosing TLS, a server that
    /// requires CredSSP when asked for less, and a pre-negotiation server.
    #[test]
    fn connection_confirms_become_fields() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00",
                "rdp.x224: connection-confirm\nrdp.selected: hybrid\nrdp.flags: 0x1f\n",
            ),
            (
                b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x01\x00\x00\x00",
                "rdp.x224: connection-confirm\nrdp.selected: ssl\nrdp.flags: 0x01\n",
            ),
            (
                b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00\x05\x00\x00\x00",
                "rdp.x224: connection-confirm\nrdp.failure: hybrid_required_by_server\n",
            ),
            (
                b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00",
                "rdp.x224: connection-confirm\nrdp.selected: rdp\n",
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(Decoder::Rdp.decode(bytes).as_deref(), Some(*want), "{bytes:x?}");
            for n in 0..bytes.len() {
                let _ = Decoder::Rdp.decode(&bytes[..n]);
            }
        }
        // A TPKT that is not a Connection Confirm (a Disconnect Request, 0x80).
        assert_eq!(Decoder::Rdp.decode(b"\x03\x00\x00\x0b\x06\x80\x00\x00\x00\x00\x00"), None);
    }
}
