//! NTLMSSP ([MS-NLMP]): the NEGOTIATE_MESSAGE a client opens with, and the server's
//! CHALLENGE_MESSAGE, which names the machine before any credential is given: its NetBIOS and
//! DNS computer and domain names (the TargetInfo AV pairs, 2.2.2.1) and its OS version
//! (the Version field, 2.2.2.10).
//!
//! The challenge is read from attacker-controlled bytes: every offset and length is checked
//! against the message, AV pairs are read at most [`MAX_AV_PAIRS`] times, and nothing panics.

use super::Fields;

/// NEGOTIATE_MESSAGE (2.2.1.1), 40 bytes: flags UNICODE, OEM, REQUEST_TARGET, NTLM,
/// ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, VERSION, 128, 56 (`0xa2088207`), no domain or
/// workstation, and a client version (6.1.7601, NTLM revision 15), which servers only
/// answer with their own Version field when the VERSION flag is set. It is the mechToken of
/// [`SESSION_SETUP`](super::smb::SESSION_SETUP), written out there as bytes; this copy lets
/// the tests check both.
#[cfg(test)]
pub(super) const NEGOTIATE: &[u8] = b"NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
\x06\x01\xb1\x1d\x00\x00\x00\x0f";

/// The signature and message type that open a CHALLENGE_MESSAGE.
const CHALLENGE: &[u8] = b"NTLMSSP\x00\x02\x00\x00\x00";
/// NTLMSSP_NEGOTIATE_VERSION: the Version field is present.
const FLAG_VERSION: u32 = 0x0200_0000;
/// AV pairs read at most: a real TargetInfo has about ten.
const MAX_AV_PAIRS: usize = 32;

/// Reads the first CHALLENGE_MESSAGE found in `token` (a SPNEGO negTokenResp or a raw
/// NTLMSSP message) into `smb.*` fields. False when there is none.
pub(super) fn decode_challenge(token: &[u8], out: &mut Fields) -> bool {
    let Some(start) = token.windows(CHALLENGE.len()).position(|w| w == CHALLENGE) else {
        return false;
    };
    let message = &token[start..];
    // The fixed part up to and including TargetInfoFields is 48 bytes.
    let Some(flags) = le32(message, 20) else { return false };
    if message.len() < 48 {
        return false;
    }
    if let Some(info) = field(message, 40) {
        target_info(info, out);
    }
    if flags & FLAG_VERSION != 0
        && let Some(v) = message.get(48..56)
    {
        let build = u16::from_le_bytes([v[2], v[3]]);
        out.push("smb.os_version", format!("{}.{}.{build}", v[0], v[1]));
    }
    true
}

/// The bytes a (length, max length, offset) field at `at` names, when they are inside
/// `message`.
fn field(message: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(le16(message, at)?);
    let offset = usize::try_from(le32(message, at + 4)?).ok()?;
    message.get(offset..offset.checked_add(len)?)
}

/// AV pairs (2.2.2.1): an id, a length, a value; MsvAvEOL ends the list.
fn target_info(mut info: &[u8], out: &mut Fields) {
    for _ in 0..MAX_AV_PAIRS {
        let (Some(id), Some(len)) = (le16(info, 0), le16(info, 2)) else { return };
        let Some(value) = info.get(4..4 + usize::from(len)) else { return };
        let name = match id {
            0 => return,
            1 => "smb.netbios_name",
            2 => "smb.netbios_domain",
            3 => "smb.dns_name",
            4 => "smb.dns_domain",
            5 => "smb.dns_forest",
            _ => "",
        };
        if !name.is_empty() {
            out.push(name, utf16le(value));
        }
        info = &info[4 + usize::from(len)..];
    }
}

/// UTF-16LE text, invalid units replaced; an odd last byte is dropped.
fn utf16le(bytes: &[u8]) -> String {
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn the_negotiate_message_asks_for_the_version() {
        assert_eq!(NEGOTIATE.len(), 40);
        assert_eq!(&NEGOTIATE[..12], b"NTLMSSP\x00\x01\x00\x00\x00");
        let flags = le32(NEGOTIATE, 12).unwrap_or(0);
        assert_eq!(flags, 0xa208_8207);
        assert_ne!(flags & FLAG_VERSION, 0);
    }

    /// One AV pair.
    pub(crate) fn av(id: u16, text: &str) -> Vec<u8> {
        let value: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        [id.to_le_bytes().to_vec(), (value.len() as u16).to_le_bytes().to_vec(), value].concat()
    }

    /// A CHALLENGE_MESSAGE laid out from [MS-NLMP] 2.2.1.2: target name, flags with VERSION,
    /// the given AV pairs then MsvAvEOL, and the version 6.1.0 (revision 15) Samba sends.
    pub(crate) fn challenge(pairs: &[Vec<u8>]) -> Vec<u8> {
        let target: Vec<u8> = "WORKGROUP".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let info = [pairs.concat(), vec![0, 0, 0, 0]].concat();
        let mut m = CHALLENGE.to_vec();
        m.extend((target.len() as u16).to_le_bytes());
        m.extend((target.len() as u16).to_le_bytes());
        m.extend(56u32.to_le_bytes());
        m.extend(0xe28a_8215u32.to_le_bytes());
        m.extend(*b"\x01\x23\x45\x67\x89\xab\xcd\xef");
        m.extend([0; 8]);
        m.extend((info.len() as u16).to_le_bytes());
        m.extend((info.len() as u16).to_le_bytes());
        m.extend((56 + target.len() as u32).to_le_bytes());
        m.extend([6, 1, 0, 0, 0, 0, 0, 15]);
        m.extend(target);
        m.extend(info);
        m
    }

    #[test]
    fn a_challenge_names_the_machine() {
        let m = challenge(&[
            av(2, "LAB"),
            av(1, "SONDE-LAB-SMB"),
            av(4, "lab.sonde.invalid"),
            av(3, "sonde-lab-smb.lab.sonde.invalid"),
            av(7, "\u{1}\u{2}\u{3}\u{4}"),
        ]);
        let mut out = Fields::default();
        assert!(decode_challenge(&[b"\xa1\x81\xc0junk".as_slice(), &m].concat(), &mut out));
        assert_eq!(
            out.text,
            "smb.netbios_domain: LAB\nsmb.netbios_name: SONDE-LAB-SMB\n\
             smb.dns_domain: lab.sonde.invalid\nsmb.dns_name: sonde-lab-smb.lab.sonde.invalid\n\
             smb.os_version: 6.1.0\n"
        );
    }

    #[test]
    fn hostile_challenges_are_bounded() {
        // An AV pair longer than the buffer, an offset past the end, a name that tries to
        // forge a line, and every truncation: no panic, nothing out of bounds.
        let mut m = challenge(&[av(1, "A\r\nsmb.dns_name: forged"), av(3, "x")]);
        let mut out = Fields::default();
        decode_challenge(&m, &mut out);
        assert!(
            out.text.starts_with("smb.netbios_name: A  smb.dns_name: forged\n"),
            "{}",
            out.text
        );
        for n in 0..m.len() {
            decode_challenge(&m[..n], &mut Fields::default());
        }
        m[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut out = Fields::default();
        assert!(decode_challenge(&m, &mut out));
        assert_eq!(out.text, "smb.os_version: 6.1.0\n");
        let huge = [av(1, "N"), vec![3, 0, 0xff, 0xff, b'x']].concat();
        let mut out = Fields::default();
        target_info(&huge, &mut out);
        assert_eq!(out.text, "smb.netbios_name: N\n");
        // Endless pairs stop at the bound.
        let many = av(1, "N").repeat(1000);
        let mut out = Fields::default();
        target_info(&many, &mut out);
        assert_eq!(out.text.lines().count(), MAX_AV_PAIRS);
        assert_eq!(utf16le(b"\x41\x00\x00\xd8\x42"), "A\u{fffd}");
    }
}
