//! Memory is flat in the target count: the plan of a /8 costs the same as the plan of a /24.
//!
//! A scan's order is computed (a keyed permutation over `targets x ports`), never stored, so
//! walking it and building each probe's frame must not allocate per target. This binary
//! counts every heap allocation through its global allocator and compares the two plans. It
//! holds a single test so that no other test thread allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use sonde_scanner::{
    FRAME_LEN, FrameAddrs, PortList, ProbeFields, ProbeTemplate, ReplyKey, ScanPlan, TargetSet,
};

/// The system allocator, counting live bytes, their peak and the number of allocations.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator, whose contract the caller meets.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one plan cost on the heap.
#[derive(Debug, PartialEq, Eq)]
struct Cost {
    /// Peak bytes live above what was live before the plan was built.
    peak_bytes: usize,
    /// Allocations made while walking the plan and building its frames.
    allocations_while_walking: usize,
}

/// Builds the plan for `target` x ports 1-100, then walks its first `walk` probes and builds
/// the frame of each, as a SYN sender does.
fn cost_of(target: &str, walk: u64) -> (Cost, u64) {
    let spec = vec![target.to_string()];
    let ports = "1-100";
    let key = ReplyKey::from_bytes([7; 16]);
    let template = ProbeTemplate::new(&FrameAddrs {
        src_mac: [2, 0, 0, 0, 0, 1],
        dst_mac: [2, 0, 0, 0, 0, 2],
        src_ip: Ipv4Addr::new(169, 254, 77, 1),
    });
    let mut frame = [0u8; FRAME_LEN];

    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let plan = ScanPlan::new(
        TargetSet::parse(&spec).expect("target parses"),
        PortList::parse(ports).expect("ports parse"),
        42,
    );
    let before_walk = ALLOCATIONS.load(Ordering::SeqCst);
    for probe in plan.iter(0..walk.min(plan.len())) {
        let fields = ProbeFields {
            dst_ip: probe.ip,
            dst_port: probe.port,
            src_port: 40_000,
            seq: key.cookie(Ipv4Addr::new(169, 254, 77, 1), probe.ip, 40_000, probe.port),
            ip_id: probe.port,
            tsval: 1,
        };
        template.write(&fields, &mut frame);
        std::hint::black_box(&frame);
    }
    let allocations_while_walking = ALLOCATIONS.load(Ordering::SeqCst) - before_walk;
    let peak_bytes = PEAK.load(Ordering::SeqCst) - base;
    let len = plan.len();
    drop(plan);
    (Cost { peak_bytes, allocations_while_walking }, len)
}

#[test]
fn a_slash_8_plan_costs_the_same_as_a_slash_24() {
    // Every probe of the /24 (256 x 100), and as many of the /8.
    let walk = 25_600;
    let (small, small_len) = cost_of("10.1.2.0/24", walk);
    let (large, large_len) = cost_of("10.0.0.0/8", walk);
    assert_eq!(small_len, 25_600);
    assert_eq!(large_len, (1u64 << 24) * 100, "the /8 plan covers 1.68 billion probes");

    assert_eq!(small.allocations_while_walking, 0, "walking a plan allocates nothing");
    assert_eq!(large.allocations_while_walking, 0, "walking a plan allocates nothing");
    assert_eq!(
        small, large,
        "a plan 65,536 times larger must cost the same heap: /24 {small:?}, /8 {large:?}"
    );
    eprintln!("heap per plan: /24 {small:?}, /8 {large:?}");
    // The whole plan (one target range, a hundred ports) stays in a few hundred bytes.
    assert!(small.peak_bytes < 4096, "plan of a /24 x 100 ports took {} bytes", small.peak_bytes);
}
