//! SNMP: a v2c GetRequest for `sysDescr.0` and `sysObjectID.0` with the community `public`
//! (RFC 3416), the defaults many devices ship with. An agent that knows the community answers
//! with what the device is; one that does not stays silent.

use x509_parser::asn1_rs::Class;

use super::Fields;
use super::ber::{children, element, is, oid, small_uint};

/// SNMPv2c (version 1), community `public`, GetRequest id 0x534f4e44 ("SOND") for
/// 1.3.6.1.2.1.1.1.0 and 1.3.6.1.2.1.1.2.0.
pub(crate) const REQUEST: &[u8] = b"\
\x30\x37\x02\x01\x01\x04\x06public\xa0\x2a\x02\x04SOND\x02\x01\x00\x02\x01\x00\
\x30\x1c\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00\
\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x02\x00\x05\x00";

const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    let Some((message, _)) = element(data) else { return false };
    let parts = children(&message);
    // Message: SEQUENCE { version, community, GetResponse-PDU [2] }.
    let [version, _community, pdu] = parts.as_slice() else { return false };
    if !is(&message, Class::Universal, 16) || !is(pdu, Class::ContextSpecific, 2) {
        return false;
    }
    match small_uint(version) {
        Some(0) => out.push("snmp.version", "1"),
        Some(1) => out.push("snmp.version", "2c"),
        _ => return false,
    }
    let pdu = children(pdu);
    let [_id, status, _index, bindings] = pdu.as_slice() else { return false };
    if let Some(code) = small_uint(status).filter(|c| *c != 0) {
        out.push("snmp.error", code.to_string());
    }
    for binding in children(bindings) {
        let pair = children(&binding);
        let [name, value] = pair.as_slice() else { continue };
        match oid(name).as_deref() {
            // An OCTET STRING; noSuchObject and friends (context tags) are left out.
            Some(SYS_DESCR) if is(value, Class::Universal, 4) => {
                out.push("snmp.sysdescr", value.data);
            }
            Some(SYS_OBJECT_ID) => {
                if let Some(id) = oid(value) {
                    out.push("snmp.sysobjectid", id);
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::decode::Decoder;
    use crate::probes::decode::ber::tests::{octets, tlv};

    const DESCR_OID: &[u8] = b"\x2b\x06\x01\x02\x01\x01\x01\x00";
    const OBJECT_OID: &[u8] = b"\x2b\x06\x01\x02\x01\x01\x02\x00";

    fn message(pdu_tag: u8, bindings: &[Vec<u8>]) -> Vec<u8> {
        let pdu =
            [tlv(0x02, b"SOND"), tlv(0x02, &[0]), tlv(0x02, &[0]), tlv(0x30, &bindings.concat())]
                .concat();
        tlv(0x30, &[tlv(0x02, &[1]), octets("public"), tlv(pdu_tag, &pdu)].concat())
    }

    #[test]
    fn the_request_asks_for_sysdescr_and_sysobjectid() {
        let null = tlv(0x05, &[]);
        let want = message(
            0xa0,
            &[
                tlv(0x30, &[tlv(0x06, DESCR_OID), null.clone()].concat()),
                tlv(0x30, &[tlv(0x06, OBJECT_OID), null].concat()),
            ],
        );
        assert_eq!(REQUEST, want.as_slice());
    }

    /// A GetResponse as Net-SNMP's snmpd sends it (RFC 3416 4.2.1; sysObjectID is Net-SNMP's
    /// `netSnmpAgentOIDs.linux`).
    #[test]
    fn a_get_response_becomes_fields() {
        let descr = "Linux lab 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64";
        let answer = message(
            0xa2,
            &[
                tlv(0x30, &[tlv(0x06, DESCR_OID), octets(descr)].concat()),
                tlv(
                    0x30,
                    &[
                        tlv(0x06, OBJECT_OID),
                        tlv(0x06, b"\x2b\x06\x01\x04\x01\xbf\x08\x03\x02\x0a"),
                    ]
                    .concat(),
                ),
            ],
        );
        assert_eq!(
            Decoder::Snmp.decode(&answer),
            Some(format!(
                "snmp.version: 2c\nsnmp.sysdescr: {descr}\nsnmp.sysobjectid: 1.3.6.1.4.1.8072.3.2.10\n"
            ))
        );
        for n in 0..answer.len() {
            let _ = Decoder::Snmp.decode(&answer[..n]);
        }
        // noSuchObject (context tag 0) for sysDescr: no field.
        let missing = message(0xa2, &[tlv(0x30, &[tlv(0x06, DESCR_OID), tlv(0x80, &[])].concat())]);
        assert_eq!(Decoder::Snmp.decode(&missing).as_deref(), Some("snmp.version: 2c\n"));
    }
}
