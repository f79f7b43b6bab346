//! A stable counterpart of the fuzz targets in `scanner/fuzz/`: thousands of random, truncated
//! and tampered frames through the frame parser and the reply validator, from a fixed seed so
//! every run checks the same frames. No frame may panic, and no reply may be forged.

use std::net::Ipv4Addr;

use super::cookie::ReplyKey;
use super::frame::{TCP_ACK, TCP_RST, TCP_SYN};
use super::parse::Frame;
use super::validate::{Reply, ReplyValidator};

const US: Ipv4Addr = Ipv4Addr::new(169, 254, 77, 1);
const PORT: u16 = 61_999;
const ROUNDS: usize = 3_000;

/// xorshift64*: a fixed, dependency-free stream of test bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn key() -> ReplyKey {
    ReplyKey::from_bytes(*b"robustness-key!!")
}

fn ipv4_header(total: usize, protocol: u8, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend((total as u16).to_be_bytes());
    h.extend([0x12, 0x34, 0x40, 0, 64, protocol, 0, 0]);
    h.extend(src.octets());
    h.extend(dst.octets());
    h
}

/// A genuine reply from `them:port` with `flags`, acknowledging the right cookie.
fn tcp_reply(them: Ipv4Addr, port: u16, flags: u8, options: &[u8]) -> Vec<u8> {
    let ack = key().cookie(US, them, PORT, port).wrapping_add(1);
    let tcp_len = 20 + options.len();
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend(ipv4_header(20 + tcp_len, 6, them, US));
    f.extend(port.to_be_bytes());
    f.extend(PORT.to_be_bytes());
    f.extend(0x0bad_cafe_u32.to_be_bytes());
    f.extend(ack.to_be_bytes());
    f.extend([((tcp_len / 4) as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend(options);
    f
}

/// A genuine ICMP unreachable from a router quoting our probe to `them:port`.
fn unreachable_reply(them: Ipv4Addr, port: u16) -> Vec<u8> {
    let seq = key().cookie(US, them, PORT, port);
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend(ipv4_header(20 + 8 + 28, 1, Ipv4Addr::new(192, 0, 2, 1), US));
    f.extend([3, 13, 0, 0, 0, 0, 0, 0]);
    f.extend(ipv4_header(60, 6, US, them));
    f.extend(PORT.to_be_bytes());
    f.extend(port.to_be_bytes());
    f.extend(seq.to_be_bytes());
    f
}

fn genuine(rng: &mut Rng) -> (Vec<u8>, Reply) {
    let them = Ipv4Addr::from(rng.next() as u32);
    let port = (rng.next() as u16).max(1);
    match rng.below(3) {
        0 => {
            let ts = [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0x30, 0x39];
            let frame = tcp_reply(them, port, TCP_SYN | TCP_ACK, &ts);
            (frame, Reply::Open { ip: them, port, echoed: Some(12_345) })
        }
        1 => (tcp_reply(them, port, TCP_RST | TCP_ACK, &[]), Reply::Closed { ip: them, port }),
        _ => (unreachable_reply(them, port), Reply::Unreachable { ip: them, port }),
    }
}

fn target_of(reply: Reply) -> (Ipv4Addr, u16) {
    match reply {
        Reply::Open { ip, port, .. }
        | Reply::Closed { ip, port }
        | Reply::Unreachable { ip, port } => (ip, port),
    }
}

#[test]
fn random_bytes_never_panic_and_are_never_replies() {
    let mut rng = Rng(0x5eed_0001);
    let validator = ReplyValidator::new(key(), US, PORT);
    for _ in 0..ROUNDS {
        let len = rng.below(128);
        let mut frame = rng.bytes(len);
        // Half of them look like IPv4 over Ethernet, so the parser gets past the first check.
        if rng.below(2) == 0 && frame.len() >= 15 {
            frame[12..15].copy_from_slice(&[0x08, 0x00, 0x45]);
        }
        let _ = Frame::parse(&frame);
        assert_eq!(validator.check(&frame), None, "{frame:02x?}");
    }
}

#[test]
fn genuine_replies_pass_and_every_truncation_is_refused() {
    let mut rng = Rng(0x5eed_0002);
    let validator = ReplyValidator::new(key(), US, PORT);
    for _ in 0..ROUNDS / 10 {
        let (frame, want) = genuine(&mut rng);
        assert_eq!(validator.check(&frame), Some(want));
        // Ethernet padding is ignored.
        let mut padded = frame.clone();
        padded.extend([0u8; 18]);
        assert_eq!(validator.check(&padded), Some(want));
        for len in 0..frame.len() {
            assert_eq!(validator.check(&frame[..len]), None, "{want:?} cut to {len} bytes");
        }
    }
}

#[test]
fn tampered_replies_are_refused_or_keep_their_target() {
    let mut rng = Rng(0x5eed_0003);
    let validator = ReplyValidator::new(key(), US, PORT);
    let stranger = ReplyValidator::new(ReplyKey::from_bytes(*b"another-key-0000"), US, PORT);
    for _ in 0..ROUNDS {
        let (mut frame, want) = genuine(&mut rng);
        // Without the key, a reply is refused: this is a forged one.
        assert_eq!(stranger.check(&frame), None, "forged {want:?} accepted");
        let at = rng.below(frame.len());
        let flip = (rng.next() as u8).max(1);
        frame[at] ^= flip;
        // A changed byte either breaks the reply or leaves it about the same target: the
        // address, the ports and the cookie are bound together by the keyed hash.
        if let Some(got) = validator.check(&frame) {
            assert_eq!(target_of(got), target_of(want), "byte {at} ^ {flip:#04x}");
        }
    }
}

#[test]
fn replies_with_a_guessed_acknowledgement_are_refused() {
    let mut rng = Rng(0x5eed_0004);
    let validator = ReplyValidator::new(key(), US, PORT);
    for _ in 0..ROUNDS {
        let them = Ipv4Addr::from(rng.next() as u32);
        let port = (rng.next() as u16).max(1);
        let mut frame = tcp_reply(them, port, TCP_SYN | TCP_ACK, &[]);
        let guess = rng.next() as u32;
        if guess == key().cookie(US, them, PORT, port).wrapping_add(1) {
            continue;
        }
        // The acknowledgement number sits at Ethernet 14 + IPv4 20 + 8.
        frame[42..46].copy_from_slice(&guess.to_be_bytes());
        assert_eq!(validator.check(&frame), None);
    }
}
