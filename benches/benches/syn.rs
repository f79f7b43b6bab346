//! What the SYN engine spends per probe in user space: building a frame (cookie included) and
//! validating a reply. Nothing here touches the network: frames are written to and read from
//! memory only.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sonde_scanner::{
    FRAME_LEN, FrameAddrs, PortList, ProbeFields, ProbeTemplate, ReplyKey, ReplyValidator,
    ScanPlan, TargetSet,
};

/// Frames per measured iteration, so loop overhead and timer reads stay out of the figure.
const BATCH: u64 = 4096;

const US: Ipv4Addr = Ipv4Addr::new(169, 254, 77, 1);
const SRC_PORT: u16 = 61_234;

fn key() -> ReplyKey {
    ReplyKey::from_bytes(*b"bench-reply-key!")
}

/// A SYN-ACK from `ip:port` as a Linux target sends it (MSS, SACK, timestamps, window scale),
/// acknowledging `ack`.
fn syn_ack(ip: Ipv4Addr, port: u16, ack: u32) -> Vec<u8> {
    let mut f = vec![2, 0x5d, 0x6c, 0, 0, 1, 2, 0x5d, 0x6c, 0, 0, 2, 0x08, 0x00];
    f.extend([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend(ip.octets());
    f.extend(US.octets());
    f.extend(port.to_be_bytes());
    f.extend(SRC_PORT.to_be_bytes());
    f.extend(0x1234_5678u32.to_be_bytes());
    f.extend(ack.to_be_bytes());
    f.extend([0xa0, 0x12, 0xfe, 0x88, 0, 0, 0, 0]);
    f.extend([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7, 1, 3, 3, 7]);
    f
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("syn");
    group.throughput(Throughput::Elements(BATCH));
    let template = ProbeTemplate::new(&FrameAddrs {
        src_mac: [2, 0x5d, 0x6c, 0, 0, 1],
        dst_mac: [2, 0x5d, 0x6c, 0, 0, 2],
        src_ip: US,
    });
    let key = key();
    let plan = ScanPlan::new(
        TargetSet::parse(&["10.77.0.0/16".to_string()]).expect("valid targets"),
        PortList::parse("22,80,443").expect("valid ports"),
        0x5eed,
    );
    // A batch as the sender fills one: probe i of the plan, its cookie, its frame.
    let mut out = vec![[0u8; FRAME_LEN]; 64];
    group.bench_function("build_frame", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let probe = plan.probe(black_box(i));
                let fields = ProbeFields {
                    dst_ip: probe.ip,
                    dst_port: probe.port,
                    src_port: SRC_PORT,
                    seq: key.cookie(US, probe.ip, SRC_PORT, probe.port),
                    ip_id: i as u16,
                    tsval: 1,
                };
                template.write(&fields, &mut out[(i % 64) as usize]);
            }
            black_box(&out);
        })
    });

    let validator = ReplyValidator::new(key, US, SRC_PORT);
    let replies: Vec<Vec<u8>> = (0..256u32)
        .map(|i| {
            let ip = Ipv4Addr::from(0x0a4d_0000 | (i * 97));
            syn_ack(ip, 443, key.cookie(US, ip, SRC_PORT, 443).wrapping_add(1))
        })
        .collect();
    let forged: Vec<Vec<u8>> = (0..256u32)
        .map(|i| syn_ack(Ipv4Addr::from(0x0a4d_0000 | (i * 97)), 443, i.wrapping_mul(0x9e37_79b9)))
        .collect();
    for (name, frames, want) in
        [("validate_reply", &replies, true), ("reject_forged", &forged, false)]
    {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut valid = 0u64;
                for i in 0..BATCH as usize {
                    valid += u64::from(validator.check(black_box(&frames[i % 256])).is_some());
                }
                assert_eq!(valid == BATCH, want);
                valid
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
