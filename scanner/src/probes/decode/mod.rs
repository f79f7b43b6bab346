//! Decoders: binary answers become `name: value` lines that signatures can read.
//!
//! MongoDB, RDP, SMB, LDAP, DNS, NTP and SNMP answer in binary framings. Their probe's
//! decoder turns an answer into one line per field (`mongodb.version: 7.0.14`,
//! `smb.dialect: 3.1.1`...), which the probe's response then carries instead of the raw
//! bytes: what the matcher's `banner` field of that probe holds, and what the console shows.
//! An answer a decoder does not recognize is kept raw, so signatures written against raw
//! bytes still see it.
//!
//! Every decoder reads attacker-controlled bytes: bounds are checked, nothing panics, and
//! values are cut at [`MAX_VALUE`] bytes with line breaks and control characters replaced,
//! so a value can never forge another field's line.

mod ber;
mod dns;
mod ldap;
mod mongodb;
mod ntlmssp;
mod ntp;
mod rdp;
mod smb;
mod snmp;

pub(crate) use dns::{QUERY as DNS_QUERY, TCP_QUERY as DNS_TCP_QUERY};
pub(crate) use ldap::REQUEST as LDAP;
pub(crate) use mongodb::REQUEST as MONGODB;
pub(crate) use ntp::REQUEST as NTP;
pub(crate) use rdp::REQUEST as RDP;
pub(crate) use smb::EXCHANGE as SMB;
pub(crate) use snmp::REQUEST as SNMP;

/// Longest value kept, in bytes.
pub const MAX_VALUE: usize = 512;

/// How a probe's answer is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoder {
    /// Kept as received.
    Raw,
    /// MongoDB OP_MSG (or legacy OP_REPLY) answers to `isMaster` and `buildInfo`.
    MongoDb,
    /// RDP: the X.224 Connection Confirm and its negotiation response.
    Rdp,
    /// SMB2 NEGOTIATE response, then the SESSION_SETUP response and its NTLMSSP challenge.
    Smb,
    /// LDAP: the rootDSE search result.
    Ldap,
    /// DNS: the answer to `version.bind` CHAOS TXT; `tcp` when it has the two-byte length
    /// prefix of DNS over TCP.
    DnsVersion {
        /// DNS over TCP framing.
        tcp: bool,
    },
    /// NTP mode 4 (server) reply.
    Ntp,
    /// SNMP GetResponse.
    Snmp,
}

impl Decoder {
    /// The decoded lines of `data`, or `None` when `data` is not what this decoder reads
    /// (and for [`Raw`](Self::Raw)).
    pub fn decode(self, data: &[u8]) -> Option<String> {
        let mut out = Fields::default();
        let recognized = match self {
            Self::Raw => false,
            Self::MongoDb => mongodb::decode(data, &mut out),
            Self::Rdp => rdp::decode(data, &mut out),
            Self::Smb => smb::decode(data, &mut out),
            Self::Ldap => ldap::decode(data, &mut out),
            Self::DnsVersion { tcp } => dns::decode(data, tcp, &mut out),
            Self::Ntp => ntp::decode(data, &mut out),
            Self::Snmp => snmp::decode(data, &mut out),
        };
        (recognized && !out.text.is_empty()).then_some(out.text)
    }

    /// `data` decoded, or as received when this decoder does not recognize it.
    pub fn apply(self, data: Vec<u8>) -> Vec<u8> {
        match self.decode(&data) {
            Some(text) => text.into_bytes(),
            None => data,
        }
    }
}

/// Decoded fields, rendered as they are added.
#[derive(Debug, Default)]
struct Fields {
    text: String,
}

impl Fields {
    /// Adds `name: value`; `value` is decoded lossily, cut at [`MAX_VALUE`] bytes, control
    /// characters replaced by spaces. Empty values are left out.
    fn push(&mut self, name: &str, value: impl AsRef<[u8]>) {
        let value = value.as_ref();
        let value = &value[..value.len().min(MAX_VALUE)];
        let value = String::from_utf8_lossy(value);
        let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if value.is_empty() {
            return;
        }
        self.text.push_str(name);
        self.text.push_str(": ");
        self.text.extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }));
        self.text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_forge_lines_and_are_bounded() {
        let mut f = Fields::default();
        f.push("a.b", b"x\r\nmongodb.version: 9.9.9\x00");
        f.push("a.c", "");
        f.push("a.d", vec![b'z'; 4 * MAX_VALUE]);
        let lines: Vec<&str> = f.text.lines().collect();
        assert_eq!(lines[0], "a.b: x  mongodb.version: 9.9.9");
        assert_eq!(lines.len(), 2, "empty values are left out: {lines:?}");
        assert_eq!(lines[1].len(), "a.d: ".len() + MAX_VALUE);
    }

    #[test]
    fn unrecognized_answers_stay_raw() {
        let junk = b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec();
        for d in [
            Decoder::MongoDb,
            Decoder::Rdp,
            Decoder::Smb,
            Decoder::Ldap,
            Decoder::DnsVersion { tcp: true },
            Decoder::DnsVersion { tcp: false },
            Decoder::Ntp,
            Decoder::Snmp,
        ] {
            assert_eq!(d.apply(junk.clone()), junk, "{d:?}");
            // Every prefix of the junk, and of nothing at all: no panic, no decoding.
            for n in 0..junk.len() {
                let _ = d.decode(&junk[..n]);
            }
        }
    }
}
