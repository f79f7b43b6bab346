//! SMB2: a NEGOTIATE request ([MS-SMB2] 2.2.3) over direct TCP (port 445, a 4-byte session
//! header), then a SESSION_SETUP request (2.2.5) carrying an NTLMSSP NEGOTIATE_MESSAGE. The
//! NEGOTIATE response names the dialect the server picked, its GUID, whether it requires
//! signing and its capabilities; the SESSION_SETUP response (STATUS_MORE_PROCESSING_REQUIRED)
//! carries the NTLMSSP challenge, which names the machine and its domain and gives its OS
//! version ([`ntlmssp`](super::ntlmssp)). Neither needs a credential.
//!
//! Dialects 2.0.2 to 3.0.2 are offered; 3.1.1 needs negotiate contexts (pre-authentication
//! integrity) that a fixed payload cannot carry, so a 3.1.1 server answers 3.0.2 here. That
//! also keeps the SESSION_SETUP fixed: below 3.1.1 it depends on nothing the server said.

use super::Fields;
use super::ntlmssp;

/// Session header (length 108), SMB2 header (NEGOTIATE, message id 0, credit request 1), and
/// a NEGOTIATE request with signing enabled, a zero client GUID and four dialects.
pub(crate) const REQUEST: &[u8] = b"\
\x00\x00\x00\x6c\
\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x24\x00\x04\x00\x01\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\
\x02\x02\x10\x02\x00\x03\x02\x03";

/// What Samba puts in the SPNEGO negTokenInit hints of its NEGOTIATE response; Windows
/// servers since 2008 send no hint.
const SAMBA_HINT: &[u8] = b"not_defined_in_RFC4178@please_ignore";

/// Session header (length 162), SMB2 header (SESSION_SETUP, message id 1, session 0, credit
/// request 1), and a SESSION_SETUP request, signing enabled, whose security buffer (offset 88,
/// 74 bytes) is a SPNEGO negTokenInit offering NTLMSSP with its NEGOTIATE_MESSAGE
/// ([`ntlmssp::NEGOTIATE`]) as the mechToken.
pub(crate) const SESSION_SETUP: &[u8] = b"\
\x00\x00\x00\xa2\
\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x19\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x58\x00\x4a\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\
\x60\x48\x06\x06\x2b\x06\x01\x05\x05\x02\xa0\x3e\x30\x3c\
\xa0\x0e\x30\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a\
\xa2\x2a\x04\x28\
NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x06\x01\xb1\x1d\x00\x00\x00\x0f";

/// The exchange, in turn: each request goes once the answer to the one before is in.
pub(crate) const EXCHANGE: &[&[u8]] = &[REQUEST, SESSION_SETUP];

/// SMB2 messages read from one answer at most.
const MAX_MESSAGES: usize = 4;
/// STATUS_MORE_PROCESSING_REQUIRED: a SESSION_SETUP that goes on.
const MORE_PROCESSING: u32 = 0xc000_0016;

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    let mut rest = data;
    let mut recognized = false;
    for _ in 0..MAX_MESSAGES {
        // Session header: a zero byte, then a 24-bit length. The last message may be cut.
        let [0, a, b, c, tail @ ..] = rest else { break };
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        let (smb, next) = tail.split_at(len.min(tail.len()));
        rest = next;
        let ok = match le16(smb, 12) {
            Some(0) if !recognized => negotiate(smb, out),
            Some(1) if recognized => session_setup(smb, out),
            _ => false,
        };
        if !ok {
            break;
        }
        recognized = true;
    }
    recognized
}

/// A NEGOTIATE response (2.2.4).
fn negotiate(smb: &[u8], out: &mut Fields) -> bool {
    // SMB2 header: protocol id, structure size 64; status at 8.
    if smb.len() < 64 + 64 || &smb[..4] != b"\xfeSMB" || le16(smb, 4) != Some(64) {
        return false;
    }
    let status = le32(smb, 8).unwrap_or(u32::MAX);
    let body = &smb[64..];
    // NEGOTIATE response: structure size 65.
    if le16(body, 0) != Some(65) {
        return false;
    }
    if status != 0 {
        out.push("smb.status", format!("0x{status:08x}"));
    }
    let security = le16(body, 2).unwrap_or(0);
    let dialect = le16(body, 4).unwrap_or(0);
    out.push("smb.dialect", dialect_name(dialect));
    out.push("smb.signing", if security & 0x2 != 0 { "required" } else { "enabled" });
    out.push("smb.guid", guid(&body[8..24]));
    out.push("smb.capabilities", format!("0x{:08x}", le32(body, 24).unwrap_or(0)));
    if let Some(token) = security_buffer(smb, body, 56)
        && token.windows(SAMBA_HINT.len()).any(|w| w == SAMBA_HINT)
    {
        out.push("smb.spnego.hint", SAMBA_HINT);
    }
    true
}

/// A SESSION_SETUP response (2.2.6): with STATUS_MORE_PROCESSING_REQUIRED, its security
/// buffer holds the NTLMSSP challenge.
fn session_setup(smb: &[u8], out: &mut Fields) -> bool {
    if smb.len() < 64 + 8 || &smb[..4] != b"\xfeSMB" || le16(smb, 4) != Some(64) {
        return false;
    }
    let status = le32(smb, 8).unwrap_or(u32::MAX);
    let body = &smb[64..];
    if le16(body, 0) != Some(9) {
        return false;
    }
    if status != MORE_PROCESSING {
        // A server that refuses NTLM, or wants something else first: say so.
        out.push("smb.session_status", format!("0x{status:08x}"));
        return true;
    }
    if let Some(token) = security_buffer(smb, body, 4) {
        ntlmssp::decode_challenge(token, out);
    }
    true
}

/// The security buffer whose (offset from the SMB2 header, length) pair is at `at` in `body`.
fn security_buffer<'a>(smb: &'a [u8], body: &[u8], at: usize) -> Option<&'a [u8]> {
    let offset = usize::from(le16(body, at)?);
    let len = usize::from(le16(body, at + 2)?);
    smb.get(offset..offset + len)
}

fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0311 => "3.1.1".into(),
        0x02ff => "2.???".into(),
        other => format!("0x{other:04x}"),
    }
}

/// A GUID in its registry form: the first three groups little-endian.
fn guid(b: &[u8]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use crate::probes::decode::Decoder;

    use super::*;

    #[test]
    fn the_request_is_one_negotiate_with_four_dialects() {
        let len = u32::from_be_bytes([REQUEST[0], REQUEST[1], REQUEST[2], REQUEST[3]]);
        assert_eq!(len as usize, REQUEST.len() - 4, "session header length");
        let smb = &REQUEST[4..];
        assert_eq!((&smb[..4], le16(smb, 4), le16(smb, 12)), (&b"\xfeSMB"[..], Some(64), Some(0)));
        let body = &smb[64..];
        assert_eq!((le16(body, 0), le16(body, 2)), (Some(36), Some(4)));
        assert_eq!(body.len(), 36 + 4 * 2);
        let dialects: Vec<u16> = (0..4).filter_map(|i| le16(body, 36 + 2 * i)).collect();
        assert_eq!(dialects, [0x0202, 0x0210, 0x0300, 0x0302]);
    }

    #[test]
    fn the_session_setup_carries_an_ntlmssp_negotiate_in_spnego() {
        let len = u32::from_be_bytes([
            SESSION_SETUP[0],
            SESSION_SETUP[1],
            SESSION_SETUP[2],
            SESSION_SETUP[3],
        ]);
        assert_eq!(len as usize, SESSION_SETUP.len() - 4, "session header length");
        let smb = &SESSION_SETUP[4..];
        // SESSION_SETUP, one credit asked, message id 1 (the NEGOTIATE was 0), session 0.
        assert_eq!((&smb[..4], le16(smb, 4), le16(smb, 12)), (&b"\xfeSMB"[..], Some(64), Some(1)));
        assert_eq!((le16(smb, 14), le32(smb, 24)), (Some(1), Some(1)));
        assert!(smb[40..48].iter().all(|&b| b == 0), "session id 0");
        let body = &smb[64..];
        assert_eq!((le16(body, 0), body[3]), (Some(25), 1), "structure size, signing enabled");
        let token = security_buffer(smb, body, 12).unwrap_or_default();
        assert_eq!(token.len(), 74);
        assert_eq!(usize::from(token[1]), token.len() - 2, "negTokenInit length");
        // The SPNEGO OID, then NTLMSSP's (1.3.6.1.4.1.311.2.2.10) as the only mechanism.
        assert_eq!(&token[2..10], b"\x06\x06\x2b\x06\x01\x05\x05\x02");
        assert_eq!(&token[18..30], b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a");
        assert!(token.ends_with(ntlmssp::NEGOTIATE));
        assert_eq!(EXCHANGE, [REQUEST, SESSION_SETUP]);
    }

    /// A SESSION_SETUP response laid out from [MS-SMB2] 2.2.6, status
    /// MORE_PROCESSING_REQUIRED, its buffer a negTokenResp around `challenge`.
    fn session_setup_response(status: u32, challenge: &[u8]) -> Vec<u8> {
        let token =
            [b"\xa1\x81\xc0\x30\x81\xbd\xa0\x03\x0a\x01\x01".as_slice(), challenge].concat();
        let mut smb = b"\xfeSMB\x40\x00\x01\x00".to_vec();
        smb.extend(status.to_le_bytes());
        smb.extend([1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        smb.extend([0; 64 - 32]);
        smb.extend([9, 0, 0, 0, 72, 0]);
        smb.extend((token.len() as u16).to_le_bytes());
        smb.extend(token);
        let mut out = ((smb.len() as u32).to_be_bytes()).to_vec();
        out.extend(smb);
        out
    }

    #[test]
    fn the_ntlmssp_challenge_names_the_host() {
        use crate::probes::decode::ntlmssp::tests::{av, challenge};
        let challenge =
            challenge(&[av(2, "SONDE"), av(1, "SONDE-LAB-SMB"), av(4, ""), av(3, "sonde-lab-smb")]);
        let answer =
            [samba_response(0), session_setup_response(MORE_PROCESSING, &challenge)].concat();
        let text = Decoder::Smb.decode(&answer).unwrap_or_default();
        assert!(
            text.ends_with(
                "smb.spnego.hint: not_defined_in_RFC4178@please_ignore\n\
                 smb.netbios_domain: SONDE\nsmb.netbios_name: SONDE-LAB-SMB\n\
                 smb.dns_name: sonde-lab-smb\nsmb.os_version: 6.1.0\n"
            ),
            "{text}"
        );
        for n in 0..answer.len() {
            let _ = Decoder::Smb.decode(&answer[..n]);
        }
        // A server that refuses the session setup says so; the NEGOTIATE fields stay.
        let refused = [samba_response(0), session_setup_response(0xc000_006d, &challenge)].concat();
        let text = Decoder::Smb.decode(&refused).unwrap_or_default();
        assert!(text.ends_with("smb.session_status: 0xc000006d\n"), "{text}");
        // A SESSION_SETUP without a NEGOTIATE before it is not an answer to this probe.
        let alone = session_setup_response(MORE_PROCESSING, &challenge);
        assert_eq!(Decoder::Smb.decode(&alone), None);
    }

    /// A NEGOTIATE response laid out from [MS-SMB2] 2.2.4: a Samba server picking 3.0.2,
    /// signing enabled, with the SPNEGO hint Samba sends.
    fn samba_response(status: u32) -> Vec<u8> {
        let token = [
            b"\x60\x5e\x06\x06\x2b\x06\x01\x05\x05\x02\xa0\x54\xa3\x2a\x30\x28\xa0\x26\x1b\x24"
                .as_slice(),
            SAMBA_HINT,
        ]
        .concat();
        let mut smb = b"\xfeSMB\x40\x00\x01\x00".to_vec();
        smb.extend(status.to_le_bytes());
        smb.extend([0, 0, 1, 0]); // NEGOTIATE, one credit granted
        smb.extend([1, 0, 0, 0]); // flags: a response
        smb.extend([0; 64 - 20]);
        let mut body = vec![0x41, 0, 0x01, 0, 0x02, 0x03, 0, 0];
        body.extend([0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 1, 2, 3, 4, 5, 6, 7, 8]);
        body.extend(0x2fu32.to_le_bytes()); // capabilities
        body.extend([0, 0, 0x80, 0].repeat(3)); // max transact, read, write: 8 MiB
        body.extend([0; 16]); // system time, start time
        body.extend((128u16).to_le_bytes()); // security buffer offset: 64 + 64
        body.extend((token.len() as u16).to_le_bytes());
        body.extend([0; 4]);
        body.extend(&token);
        smb.extend(body);
        let mut out = ((smb.len() as u32).to_be_bytes()).to_vec();
        out.extend(smb);
        out
    }

    #[test]
    fn a_negotiate_response_becomes_fields() {
        let answer = samba_response(0);
        assert_eq!(
            Decoder::Smb.decode(&answer).as_deref(),
            Some(
                "smb.dialect: 3.0.2\nsmb.signing: enabled\n\
                 smb.guid: 12345678-9abc-def0-0102-030405060708\nsmb.capabilities: 0x0000002f\n\
                 smb.spnego.hint: not_defined_in_RFC4178@please_ignore\n"
            )
        );
        for n in 0..answer.len() {
            let _ = Decoder::Smb.decode(&answer[..n]);
        }
        let failed = Decoder::Smb.decode(&samba_response(0xc000_0022)).unwrap_or_default();
        assert!(failed.starts_with("smb.status: 0xc0000022\n"), "{failed}");
    }

    /// What Samba 4.17.12 (Debian 12) answered to [`EXCHANGE`], captured in a network
    /// namespace: smbd as a standalone server with `netbios name = SONDE-LAB-SMB`. A
    /// standalone server names itself as its domain, and sends an empty DNS computer name
    /// and the fixed version 6.1.0 (the OS build is Windows' to tell, not Samba's).
    const SAMBA_4_17_ANSWER: &str = "\
000000cafe534d42400000000000000000000100010000000000000000000000000000000000000000000000\
0000000000000000000000000000000000000000000000004100010002030000736f6e64652d6c61622d736d\
620000000700000000008000000080000000800064428dd7c47ddd01000000000000000080004a0000000000\
604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f6465\
66696e65645f696e5f5246433431373840706c656173655f69676e6f72650000010dfe534d42400000001600\
00c00100010001000000000000000100000000000000000000000000000048b3d02600000000000000000000\
00000000000000000000090000004800c500a181c23081bfa0030a0101a10c060a2b06010401823702020aa2\
81a90481a64e544c4d53535000020000001a001a003800000005828aa2b0fd2c3b6235800300000000000000\
005400540052000000060100000000000f53004f004e00440045002d004c00410042002d0053004d00420002\
001a0053004f004e00440045002d004c00410042002d0053004d00420001001a0053004f004e00440045002d\
004c00410042002d0053004d00420004000000030000000700080084e5abd7c47ddd0100000000";

    fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| {
                u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("00"), 16).unwrap_or(0)
            })
            .collect()
    }

    #[test]
    fn a_real_samba_answer_names_the_host() {
        let answer = unhex(SAMBA_4_17_ANSWER);
        let text = Decoder::Smb.decode(&answer).unwrap_or_default();
        assert_eq!(
            text,
            "smb.dialect: 3.0.2\nsmb.signing: enabled\n\
             smb.guid: 646e6f73-2d65-616c-622d-736d62000000\nsmb.capabilities: 0x00000007\n\
             smb.spnego.hint: not_defined_in_RFC4178@please_ignore\n\
             smb.netbios_domain: SONDE-LAB-SMB\nsmb.netbios_name: SONDE-LAB-SMB\n\
             smb.os_version: 6.1.0\n"
        );
        for n in 0..answer.len() {
            let _ = Decoder::Smb.decode(&answer[..n]);
        }
    }
}
