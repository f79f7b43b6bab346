//! Any frame through the reply validator, under a key and source taken from the input: no
//! panic, and a frame accepted under one key is refused under a key one bit away (a reply
//! cannot be forged without the key).
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use sonde_scanner::{ReplyKey, ReplyValidator};

fuzz_target!(|input: &[u8]| {
    let Some((head, frame)) = input.split_first_chunk::<22>() else { return };
    let mut key = [0u8; 16];
    key.copy_from_slice(&head[..16]);
    let src_ip = Ipv4Addr::new(head[16], head[17], head[18], head[19]);
    let src_port = u16::from_be_bytes([head[20], head[21]]);
    let Some(reply) = ReplyValidator::new(ReplyKey::from_bytes(key), src_ip, src_port).check(frame)
    else {
        return;
    };
    let mut other = key;
    other[0] ^= 1;
    let forged = ReplyValidator::new(ReplyKey::from_bytes(other), src_ip, src_port).check(frame);
    assert_eq!(forged, None, "{reply:?} was also accepted under another key");
});
