//! The receive filter: a classic BPF program run by the kernel on every frame of the
//! interface, so that only candidate replies are copied to the engine. It accepts unfragmented
//! IPv4 to our address that is TCP to our port with RST or SYN+ACK set, or ICMP destination
//! unreachable; the cookie check happens in user space.

use std::net::Ipv4Addr;

/// One classic BPF instruction, laid out as `struct sock_filter`.
pub(crate) type Instruction = libc::sock_filter;

// Opcodes from <linux/filter.h>.
pub(crate) const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
pub(crate) const LD_W_ABS: u16 = 0x20;
const LD_H_IND: u16 = 0x48;
const LD_B_IND: u16 = 0x50;
const LDX_MSH: u16 = 0xb1;
pub(crate) const JEQ: u16 = 0x15;
const JSET: u16 = 0x45;
const AND: u16 = 0x54;
pub(crate) const RET: u16 = 0x06;

/// Bytes of a frame handed up: more than any reply we read (Ethernet, IP with options, TCP
/// with options, or ICMP quoting an IP header with options and 8 bytes).
const SNAP: u32 = 256;

/// Where the two exits sit in [`reply_filter`]'s program.
const ACCEPT: usize = 19;
const DROP: usize = 20;
const TCP: usize = 9;
const ICMP: usize = 16;

/// The filter for replies to `src_ip:src_port`.
pub(crate) fn reply_filter(src_ip: Ipv4Addr, src_port: u16) -> Vec<Instruction> {
    let program = vec![
        stmt(LD_H_ABS, 12),                           // 0: ethertype
        jump(1, JEQ, 0x0800, 2, DROP),                // 1: IPv4
        stmt(LD_W_ABS, 30),                           // 2: IP destination
        jump(3, JEQ, u32::from(src_ip), 4, DROP),     // 3: ours
        stmt(LD_H_ABS, 20),                           // 4: flags, fragment offset
        jump(5, JSET, 0x3fff, DROP, 6),               // 5: fragments: drop
        stmt(LD_B_ABS, 23),                           // 6: protocol
        jump(7, JEQ, 6, TCP, 8),                      // 7: TCP
        jump(8, JEQ, 1, ICMP, DROP),                  // 8: ICMP
        stmt(LDX_MSH, 14),                            // 9: X = IP header length
        stmt(LD_H_IND, 14 + 2),                       // 10: TCP destination port
        jump(11, JEQ, u32::from(src_port), 12, DROP), // 11: ours
        stmt(LD_B_IND, 14 + 13),                      // 12: TCP flags
        jump(13, JSET, 0x04, ACCEPT, 14),             // 13: RST
        stmt(AND, 0x12),                              // 14: SYN and ACK ...
        jump(15, JEQ, 0x12, ACCEPT, DROP),            // 15: ... both
        stmt(LDX_MSH, 14),                            // 16: X = IP header length
        stmt(LD_B_IND, 14),                           // 17: ICMP type
        jump(18, JEQ, 3, ACCEPT, DROP),               // 18: destination unreachable
        stmt(RET, SNAP),                              // 19: accept
        stmt(RET, 0),                                 // 20: drop
    ];
    debug_assert_eq!(program.len(), DROP + 1);
    program
}

pub(crate) const fn stmt(code: u16, k: u32) -> Instruction {
    Instruction { code, jt: 0, jf: 0, k }
}

/// A conditional jump at `at` to the instruction `yes` or `no` (absolute indexes; classic BPF
/// counts forward from the next instruction).
pub(crate) const fn jump(at: usize, code: u16, k: u32, yes: usize, no: usize) -> Instruction {
    Instruction { code, jt: (yes - at - 1) as u8, jf: (no - at - 1) as u8, k }
}

/// Runs `program` on `packet` the way the kernel does (only the opcodes used here), so
/// filters are tested without a socket.
#[cfg(test)]
pub(crate) fn run(program: &[Instruction], packet: &[u8]) -> u32 {
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    let load = |at: usize, n: usize| -> Option<u32> {
        packet.get(at..at + n).map(|b| b.iter().fold(0, |v, &byte| v << 8 | u32::from(byte)))
    };
    loop {
        let i = program[pc];
        pc += 1;
        let k = i.k as usize;
        let loaded = match i.code {
            LD_H_ABS => Some(load(k, 2)),
            LD_B_ABS => Some(load(k, 1)),
            LD_W_ABS => Some(load(k, 4)),
            LD_H_IND => Some(load(x as usize + k, 2)),
            LD_B_IND => Some(load(x as usize + k, 1)),
            _ => None,
        };
        match (i.code, loaded) {
            // An out-of-bounds load ends the program with 0, as in the kernel.
            (_, Some(None)) => return 0,
            (_, Some(Some(v))) => a = v,
            (LDX_MSH, _) => x = load(k, 1).map_or(0, |b| (b & 0xf) * 4),
            (AND, _) => a &= i.k,
            (RET, _) => return i.k,
            (JEQ | JSET, _) => {
                let taken = if i.code == JEQ { a == i.k } else { a & i.k != 0 };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            (code, _) => panic!("opcode {code:#x} not interpreted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syn::frame::{FRAME_LEN, FrameAddrs, ProbeFields, ProbeTemplate};

    const US: Ipv4Addr = Ipv4Addr::new(169, 254, 77, 1);

    /// A TCP segment from 10.0.0.9:80 to `dst:dst_port` with `flags`.
    fn tcp(dst: Ipv4Addr, dst_port: u16, flags: u8) -> Vec<u8> {
        let mut f = vec![0; 12];
        f.extend([0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 9]);
        f.extend(dst.octets());
        f.extend(80u16.to_be_bytes());
        f.extend(dst_port.to_be_bytes());
        f.extend([0, 0, 0, 1, 0, 0, 0, 2, 0x50, flags, 0, 0, 0, 0, 0, 0]);
        f
    }

    #[test]
    fn only_candidate_replies_pass() {
        let program = reply_filter(US, 61_000);
        let pass = |f: &[u8]| run(&program, f) > 0;
        assert!(pass(&tcp(US, 61_000, 0x12)), "SYN-ACK");
        assert!(pass(&tcp(US, 61_000, 0x14)), "RST-ACK");
        assert!(pass(&tcp(US, 61_000, 0x04)), "RST");
        assert!(!pass(&tcp(US, 61_000, 0x02)), "SYN");
        assert!(!pass(&tcp(US, 61_000, 0x10)), "ACK");
        assert!(!pass(&tcp(US, 61_001, 0x12)), "another port");
        assert!(!pass(&tcp(Ipv4Addr::new(169, 254, 77, 5), 61_000, 0x12)), "another address");
        let mut fragment = tcp(US, 61_000, 0x12);
        fragment[21] = 1;
        assert!(!pass(&fragment), "a fragment");
        let mut arp = tcp(US, 61_000, 0x12);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!pass(&arp), "ARP");
        assert!(!pass(&tcp(US, 61_000, 0x12)[..30]), "truncated");

        // Our own probe, seen leaving: its destination is the target, not us.
        let mut probe = [0u8; FRAME_LEN];
        let addrs = FrameAddrs { src_mac: [2; 6], dst_mac: [4; 6], src_ip: US };
        let fields = ProbeFields {
            dst_ip: Ipv4Addr::new(10, 0, 0, 9),
            dst_port: 80,
            src_port: 61_000,
            seq: 1,
            ip_id: 2,
            tsval: 3,
        };
        ProbeTemplate::new(&addrs).write(&fields, &mut probe);
        assert!(!pass(&probe), "outgoing probe");

        let icmp = |kind: u8| {
            let mut f = tcp(US, 61_000, 0);
            f[23] = 1;
            f[34] = kind;
            f
        };
        assert!(pass(&icmp(3)), "ICMP unreachable");
        assert!(!pass(&icmp(0)), "ICMP echo reply");
    }
}
