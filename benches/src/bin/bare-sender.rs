//! The bare AF_PACKET sender the lab benchmark measures sonde's SYN engine against: every probe
//! frame is built before the clock starts, then each thread runs a `sendmmsg` loop over its
//! share and nothing else (no pacing, no permutation, no receiving, no cookies).
//!
//! ```text
//! bare-sender IFACE SRC_IP SRC_MAC DST_MAC PREFIX PORTS THREADS
//! bare-sender sl0 169.254.77.1 02:5d:6c:00:00:01 02:5d:6c:00:00:02 10.77.0.0/16 22,80,443 2
//! ```
//! Prints one line: `sent FRAMES in SECONDS s: RATE frames/s (THREADS threads)`.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use sonde_scanner::{FRAME_LEN, FrameAddrs, ProbeFields, ProbeTemplate};

/// Frames per `sendmmsg`, as in sonde's sender.
const BATCH: usize = 64;
/// `PACKET_QDISC_BYPASS` from linux/if_packet.h, which sonde's sender sets too.
const PACKET_QDISC_BYPASS: libc::c_int = 20;

fn main() {
    if let Err(error) = run() {
        eprintln!("bare-sender: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [iface, src_ip, src_mac, dst_mac, prefix, ports, threads] = args.as_slice() else {
        return Err("usage: bare-sender IFACE SRC_IP SRC_MAC DST_MAC PREFIX PORTS THREADS".into());
    };
    let src_ip: Ipv4Addr = src_ip.parse().map_err(|e| format!("SRC_IP {src_ip}: {e}"))?;
    let addrs = FrameAddrs { src_mac: mac(src_mac)?, dst_mac: mac(dst_mac)?, src_ip };
    let prefix: ipnet::Ipv4Net = prefix.parse().map_err(|e| format!("PREFIX {prefix}: {e}"))?;
    let ports: Vec<u16> = sonde_scanner::PortList::parse(ports)
        .map_err(|e| format!("PORTS {ports}: {e}"))?
        .as_slice()
        .to_vec();
    let threads: usize = threads.parse().map_err(|e| format!("THREADS {threads}: {e}"))?;
    let ifindex = {
        let name = CString::new(iface.as_str()).map_err(|e| e.to_string())?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(format!("no interface {iface}: {}", io::Error::last_os_error()));
        }
        index as libc::c_int
    };

    let template = ProbeTemplate::new(&addrs);
    let mut frames = Vec::with_capacity(prefix.hosts().count() * ports.len());
    for (i, dst_ip) in prefix.hosts().enumerate() {
        for &dst_port in &ports {
            let fields = ProbeFields {
                dst_ip,
                dst_port,
                src_port: 61_000,
                seq: i as u32,
                ip_id: i as u16,
                tsval: 1,
            };
            let mut frame = [0u8; FRAME_LEN];
            template.write(&fields, &mut frame);
            frames.push(frame);
        }
    }
    let share = frames.len().div_ceil(threads.max(1));
    let sockets: Vec<OwnedFd> = (0..threads.max(1))
        .map(|_| socket().map_err(|e| format!("AF_PACKET socket on {iface}: {e}")))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = frames
            .chunks(share.max(1))
            .zip(&sockets)
            .map(|(chunk, fd)| scope.spawn(move || send_all(fd, ifindex, &addrs.dst_mac, chunk)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| Err(io::Error::other("a sender panicked")))
        })
    })
    .map_err(|e| format!("send: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "sent {} in {seconds:.3} s: {:.0} frames/s ({} threads)",
        frames.len(),
        frames.len() as f64 / seconds,
        threads.max(1)
    );
    Ok(())
}

fn mac(text: &str) -> Result<[u8; 6], String> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).map_err(|e| format!("MAC {text}: {e}")))
        .collect::<Result<_, _>>()?;
    bytes.try_into().map_err(|_| format!("MAC {text}: want 6 bytes"))
}

fn socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned `fd` and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // The same socket settings as sonde's sender, so only the loop around them differs.
    for (level, name, value) in
        [(libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1), (libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20)]
    {
        let value: libc::c_int = value;
        // SAFETY: `value` is a live c_int and its size is passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fd)
}

fn send_all(
    fd: &OwnedFd,
    ifindex: libc::c_int,
    dst_mac: &[u8; 6],
    frames: &[[u8; FRAME_LEN]],
) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
    let mut address: libc::sockaddr_ll = unsafe { zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    address.sll_ifindex = ifindex;
    address.sll_halen = 6;
    address.sll_addr[..6].copy_from_slice(dst_mac);
    // SAFETY: all-zero iovecs and mmsghdrs are valid (null pointers, zero lengths).
    let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut messages: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
    for batch in frames.chunks(BATCH) {
        for (i, frame) in batch.iter().enumerate() {
            iovecs[i] =
                libc::iovec { iov_base: frame.as_ptr().cast_mut().cast(), iov_len: FRAME_LEN };
            let header = &mut messages[i].msg_hdr;
            header.msg_name = (&raw mut address).cast();
            header.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            header.msg_iov = &raw mut iovecs[i];
            header.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < batch.len() {
            // SAFETY: `messages[sent..batch.len()]` point into `iovecs`, `batch` and `address`,
            // all alive for the call; the kernel only reads the frames.
            let n = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    messages[sent..].as_mut_ptr(),
                    (batch.len() - sent) as libc::c_uint,
                    0,
                )
            };
            if n >= 0 {
                sent += n as usize;
                continue;
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => std::thread::yield_now(),
                _ => return Err(error),
            }
        }
    }
    Ok(())
}
