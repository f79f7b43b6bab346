//! The receive filter of a sweep: classic BPF that passes ARP replies whose target address
//! is ours, so the socket never queues the rest of the link's traffic.

use std::net::Ipv4Addr;

use super::frame::{ETHERTYPE_ARP, OP_REPLY, TARGET_IP};
use crate::syn::bpf::{Instruction, JEQ, LD_H_ABS, LD_W_ABS, RET, jump, stmt};

/// Bytes handed up: a whole reply, padding included.
const SNAP: u32 = 64;
const ACCEPT: usize = 6;
const DROP: usize = 7;

/// The filter for ARP replies to `src_ip`.
pub(crate) fn reply_filter(src_ip: Ipv4Addr) -> Vec<Instruction> {
    let program = vec![
        stmt(LD_H_ABS, 12),                              // 0: ethertype
        jump(1, JEQ, u32::from(ETHERTYPE_ARP), 2, DROP), // 1: ARP
        stmt(LD_H_ABS, 20),                              // 2: operation
        jump(3, JEQ, u32::from(OP_REPLY), 4, DROP),      // 3: reply
        stmt(LD_W_ABS, TARGET_IP as u32),                // 4: target address
        jump(5, JEQ, u32::from(src_ip), ACCEPT, DROP),   // 5: ours
        stmt(RET, SNAP),                                 // 6: accept
        stmt(RET, 0),                                    // 7: drop
    ];
    debug_assert_eq!(program.len(), DROP + 1);
    program
}

#[cfg(test)]
mod tests {
    use super::super::frame::{REQUEST_LEN, RequestTemplate};
    use super::*;
    use crate::MacAddr;
    use crate::syn::bpf::run;

    #[test]
    fn only_replies_to_us_pass() {
        let us = Ipv4Addr::new(192, 0, 2, 1);
        let program = reply_filter(us);
        let mut request = [0u8; REQUEST_LEN];
        RequestTemplate::new(MacAddr([2, 0, 0, 0, 0, 1]), us).write(us, &mut request);
        assert_eq!(run(&program, &request), 0, "a request");
        let mut reply = request;
        reply[21] = 2;
        assert_eq!(run(&program, &reply), SNAP, "a reply to us");
        let mut other = reply;
        other[41] = 9;
        assert_eq!(run(&program, &other), 0, "a reply to someone else");
        let mut ip = reply;
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(run(&program, &ip), 0, "not ARP");
        assert_eq!(run(&program, &reply[..30]), 0, "truncated");
    }
}
