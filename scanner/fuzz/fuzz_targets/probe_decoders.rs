//! Any bytes through every probe decoder (SMB with its NTLMSSP challenge, LDAP, MongoDB, RDP,
//! DNS, NTP, SNMP): no panic, and what comes out is `name: value` lines whose values are
//! bounded and free of control characters (an answer can never forge another field's line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_scanner::{Decoder, MAX_DECODED_VALUE};

const DECODERS: &[Decoder] = &[
    Decoder::Smb,
    Decoder::Ldap,
    Decoder::MongoDb,
    Decoder::Rdp,
    Decoder::DnsVersion { tcp: true },
    Decoder::DnsVersion { tcp: false },
    Decoder::Ntp,
    Decoder::Snmp,
];

fuzz_target!(|bytes: &[u8]| {
    for decoder in DECODERS {
        let Some(text) = decoder.decode(bytes) else { continue };
        for line in text.lines() {
            let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._".contains(&b)), "{line:?}");
            assert!(value.len() <= MAX_DECODED_VALUE * 3, "{decoder:?}: value too long");
            assert!(!value.chars().any(char::is_control), "{line:?}");
        }
    }
});
