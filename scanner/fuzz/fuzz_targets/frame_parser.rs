//! Any bytes through the received-frame parser: no panic, and Ethernet padding after the
//! IPv4 packet never changes what is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonde_scanner::fuzzing::parse_frame;

fuzz_target!(|bytes: &[u8]| {
    let parsed = parse_frame(bytes);
    if parsed.is_some() {
        // The parser cuts the payload at the IPv4 total length, so trailing padding, as short
        // Ethernet frames carry, must be ignored.
        let mut padded = bytes.to_vec();
        padded.extend([0u8; 18]);
        assert_eq!(parse_frame(&padded), parsed, "padding changed the parse");
    }
});
