//! LDAP: an anonymous search of the root DSE (RFC 4512 5.1), which servers answer without a
//! bind: vendor name and version where the server publishes them (389 Directory Server,
//! Oracle, Novell), naming contexts, and the object classes and capabilities that tell
//! OpenLDAP (`OpenLDAProotDSE`) and Active Directory (capability 1.2.840.113556.1.4.800)
//! apart.

use x509_parser::asn1_rs::Class;

use super::Fields;
use super::ber::{children, element, is, small_uint};

/// SearchRequest, message id 1: base `""`, scope base, no alias dereferencing, no limits,
/// filter `(objectClass=*)`, six attributes.
pub(crate) const REQUEST: &[u8] = b"\
\x30\x81\x8b\x02\x01\x01\x63\x81\x85\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\
\x01\x01\x00\x87\x0bobjectClass\x30\x65\
\x04\x0bobjectClass\x04\x0avendorName\x04\x0dvendorVersion\x04\x0enamingContexts\
\x04\x14supportedLDAPVersion\x04\x15supportedCapabilities";

/// Values kept per attribute.
const MAX_VALUES: usize = 16;
/// LDAP messages read from one answer.
const MAX_MESSAGES: usize = 8;

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    let mut rest = data;
    let mut recognized = false;
    for _ in 0..MAX_MESSAGES {
        let Some((message, tail)) = element(rest) else { break };
        rest = tail;
        let parts = children(&message);
        // LDAPMessage: SEQUENCE { messageID INTEGER, protocolOp, controls? }.
        let [id, op, ..] = parts.as_slice() else { break };
        if !is(&message, Class::Universal, 16) || !is(id, Class::Universal, 2) {
            break;
        }
        recognized = true;
        if is(op, Class::Application, 4) {
            entry(&children(op), out);
        } else if is(op, Class::Application, 5) || is(op, Class::Application, 24) {
            // SearchResultDone, or a notice of disconnection: the result code.
            if let Some(code) = children(op).first().and_then(small_uint) {
                out.push("ldap.result", code.to_string());
            }
        }
    }
    recognized
}

/// SearchResultEntry: objectName, then a SEQUENCE of { type, SET OF value }.
fn entry(parts: &[x509_parser::asn1_rs::Any<'_>], out: &mut Fields) {
    let Some(attributes) = parts.get(1) else { return };
    for attribute in children(attributes) {
        let pair = children(&attribute);
        let [kind, values] = pair.as_slice() else { continue };
        let name = String::from_utf8_lossy(kind.data).to_ascii_lowercase();
        let field = match name.as_str() {
            "vendorname" => "ldap.vendor".to_string(),
            "vendorversion" => "ldap.vendorversion".to_string(),
            other if other.bytes().all(|b| b.is_ascii_alphanumeric()) && !other.is_empty() => {
                format!("ldap.{other}")
            }
            _ => continue,
        };
        for value in children(values).iter().take(MAX_VALUES) {
            out.push(&field, value.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::decode::Decoder;
    use crate::probes::decode::ber::tests::{octets, tlv};

    #[test]
    fn the_request_is_a_base_search_of_the_root_dse() {
        let attrs: Vec<u8> = [
            "objectClass",
            "vendorName",
            "vendorVersion",
            "namingContexts",
            "supportedLDAPVersion",
            "supportedCapabilities",
        ]
        .iter()
        .flat_map(|a| octets(a))
        .collect();
        let search = [
            octets(""),
            tlv(0x0a, &[0]),
            tlv(0x0a, &[0]),
            tlv(0x02, &[0]),
            tlv(0x02, &[0]),
            tlv(0x01, &[0]),
            tlv(0x87, b"objectClass"),
            tlv(0x30, &attrs),
        ]
        .concat();
        let want = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x63, &search)].concat());
        assert_eq!(REQUEST, want.as_slice());
    }

    fn attribute(name: &str, values: &[&str]) -> Vec<u8> {
        let set: Vec<u8> = values.iter().flat_map(|v| octets(v)).collect();
        tlv(0x30, &[octets(name), tlv(0x31, &set)].concat())
    }

    /// Answers laid out from RFC 4511 4.5.2: an entry, then SearchResultDone.
    fn answer(attributes: &[Vec<u8>]) -> Vec<u8> {
        let entry = tlv(0x64, &[octets(""), tlv(0x30, &attributes.concat())].concat());
        let done = tlv(0x65, &[tlv(0x0a, &[0]), octets(""), octets("")].concat());
        [
            tlv(0x30, &[tlv(0x02, &[1]), entry].concat()),
            tlv(0x30, &[tlv(0x02, &[1]), done].concat()),
        ]
        .concat()
    }

    #[test]
    fn root_dse_entries_become_fields() {
        let openldap = answer(&[
            attribute("objectClass", &["top", "OpenLDAProotDSE"]),
            attribute("namingContexts", &["dc=lab,dc=sonde,dc=invalid"]),
            attribute("supportedLDAPVersion", &["3"]),
        ]);
        assert_eq!(
            Decoder::Ldap.decode(&openldap).as_deref(),
            Some(
                "ldap.objectclass: top\nldap.objectclass: OpenLDAProotDSE\n\
                 ldap.namingcontexts: dc=lab,dc=sonde,dc=invalid\n\
                 ldap.supportedldapversion: 3\nldap.result: 0\n"
            )
        );
        let ds389 = answer(&[
            attribute("vendorName", &["389 Project"]),
            attribute("vendorVersion", &["389-Directory/2.3.6 B2024.040.0000"]),
        ]);
        let text = Decoder::Ldap.decode(&ds389).unwrap_or_default();
        assert!(
            text.starts_with(
                "ldap.vendor: 389 Project\nldap.vendorversion: 389-Directory/2.3.6 B2024.040.0000\n"
            ),
            "{text}"
        );
        for n in 0..openldap.len() {
            let _ = Decoder::Ldap.decode(&openldap[..n]);
        }
    }
}
