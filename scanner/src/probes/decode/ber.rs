//! The few BER reads LDAP and SNMP answers need, over `asn1-rs` (through `x509-parser`,
//! which Sonde already uses for certificates).

use std::borrow::Cow;

use x509_parser::asn1_rs::{Any, Class, FromBer, Oid, Tag};

/// Elements kept from one constructed value: a hostile answer with millions of tiny
/// elements costs no more than this.
const MAX_CHILDREN: usize = 256;

/// The first element of `data` and what follows it.
pub(super) fn element(data: &[u8]) -> Option<(Any<'_>, &[u8])> {
    let (rest, any) = Any::from_ber(data).ok()?;
    Some((any, rest))
}

/// The elements inside a constructed value, at most [`MAX_CHILDREN`]; stops at the first
/// malformed one.
pub(super) fn children<'a>(any: &Any<'a>) -> Vec<Any<'a>> {
    let mut out = Vec::new();
    if !any.header.is_constructed() {
        return out;
    }
    let mut rest = any.data;
    while !rest.is_empty() && out.len() < MAX_CHILDREN {
        let Some((child, tail)) = element(rest) else { break };
        out.push(child);
        rest = tail;
    }
    out
}

/// Whether `any` is `[class tag]`.
pub(super) fn is(any: &Any<'_>, class: Class, tag: u32) -> bool {
    any.header.class() == class && any.header.tag() == Tag(tag)
}

/// A non-negative INTEGER or ENUMERATED that fits in a `u32`.
pub(super) fn small_uint(any: &Any<'_>) -> Option<u32> {
    let bytes = any.data;
    if bytes.is_empty() || bytes.len() > 5 || bytes[0] & 0x80 != 0 {
        return None;
    }
    bytes.iter().try_fold(0u32, |n, &b| n.checked_mul(256).map(|n| n | u32::from(b)))
}

/// An OBJECT IDENTIFIER's dotted form.
pub(super) fn oid(any: &Any<'_>) -> Option<String> {
    (any.header.class() == Class::Universal && any.header.tag() == Tag::Oid && !any.data.is_empty())
        .then(|| Oid::new(Cow::Borrowed(any.data)).to_id_string())
}

#[cfg(test)]
pub(super) mod tests {
    /// A BER element with a definite length, short or long form.
    pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=127 => out.push(n as u8),
            n @ 128..=255 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    pub(crate) fn octets(s: &str) -> Vec<u8> {
        tlv(0x04, s.as_bytes())
    }
}
