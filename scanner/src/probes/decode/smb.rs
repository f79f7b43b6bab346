//! SMB2: a NEGOTIATE request ([MS-SMB2] 2.2.3) over direct TCP (port 445, a 4-byte session
//! header). The response names the dialect the server picked, its GUID, whether it requires
//! signing and its capabilities, before any authentication.
//!
//! Dialects 2.0.2 to 3.0.2 are offered; 3.1.1 needs negotiate contexts (pre-authentication
//! integrity) that a fixed payload cannot carry, so a 3.1.1 server answers 3.0.2 here.

use super::Fields;

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

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    // Session header: a zero byte, then a 24-bit length.
    let [0, ..] = data else { return false };
    let Some(smb) = data.get(4..) else { return false };
    // SMB2 header: protocol id, structure size 64; command at 12, status at 8.
    if smb.len() < 64 + 64 || &smb[..4] != b"\xfeSMB" || le16(smb, 4) != Some(64) {
        return false;
    }
    if le16(smb, 12) != Some(0) {
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
    // Security buffer: offset from the start of the SMB2 header, and length.
    let offset = usize::from(le16(body, 56).unwrap_or(0));
    let len = usize::from(le16(body, 58).unwrap_or(0));
    if let Some(token) = smb.get(offset..offset.saturating_add(len))
        && token.windows(SAMBA_HINT.len()).any(|w| w == SAMBA_HINT)
    {
        out.push("smb.spnego.hint", SAMBA_HINT);
    }
    true
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
}
