//! The two `AF_PACKET` sockets: a sender that hands the kernel a batch of frames per system
//! call, and a receiver behind the BPF filter.
//!
//! Three ways to hand frames over are built, and [`SendPath`] picks one: `sendmmsg` with one
//! message per frame, a `PACKET_MMAP` TX ring (TPACKET_V2) flushed by one `sendto` per batch,
//! or io_uring with one `IORING_OP_SENDMSG` per frame and one `io_uring_enter` per batch. The
//! figures behind the default are in `benches/RESULTS.md`.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::bpf;
use super::frame::FRAME_LEN;
use super::route::NetPath;
use crate::{MacAddr, ScanError};

/// `PACKET_QDISC_BYPASS` from `<linux/if_packet.h>`: frames go straight to the driver. A
/// scanner has no use for traffic shaping on its own probes, and the qdisc's lock costs time.
const PACKET_QDISC_BYPASS: libc::c_int = 20;
/// Kernel buffers: room for a few milliseconds of probes at full rate, and for a burst of
/// replies while the engine is busy.
const SEND_BUFFER: libc::c_int = 4 << 20;
const RECEIVE_BUFFER: libc::c_int = 16 << 20;
/// Pause after the kernel says its queue is full (`ENOBUFS`), before trying again.
const FULL_QUEUE_PAUSE: Duration = Duration::from_micros(50);

/// Frames per batch at most.
pub(crate) const MAX_BATCH: usize = 64;
/// `TPACKET_V2` from `<linux/if_packet.h>`.
const TPACKET_V2: libc::c_int = 1;
/// TX ring geometry: 128-byte slots (header and a 74-byte frame), 32 to a page, 8 batches'
/// worth in all.
const RING_SLOT: usize = 128;
const RING_BLOCK: usize = 4096;
const RING_BLOCKS: usize = 16;
/// Where a frame's bytes start in a TX slot: after the `tpacket2_hdr`, aligned, without the
/// `sockaddr_ll` that only RX slots carry.
const RING_DATA: usize = libc::TPACKET2_HDRLEN - size_of::<libc::sockaddr_ll>();

/// How the sender hands frames to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendPath {
    /// One `sendmmsg` per batch, a message per frame.
    #[default]
    Sendmmsg,
    /// Frames written into a ring shared with the kernel, one `sendto` per batch.
    TxRing,
    /// One io_uring `SENDMSG` per frame, the batch submitted and reaped with one system call.
    IoUring,
}

/// Sends frames on one interface, a batch per system call.
#[derive(Debug)]
pub(crate) struct PacketSender {
    fd: OwnedFd,
    address: libc::sockaddr_ll,
    /// The batch being filled; frames are written in place by the engine.
    pub(crate) frames: Box<[[u8; FRAME_LEN]; MAX_BATCH]>,
    /// How often the kernel's queue was full, for the engine's report.
    pub(crate) full_queue_waits: u64,
    /// The shared ring, for [`SendPath::TxRing`].
    ring: Option<TxRing>,
    /// The submission ring, for [`SendPath::IoUring`].
    uring: Option<SendRing>,
}

/// An io_uring used only to submit sends.
struct SendRing(io_uring::IoUring);

impl std::fmt::Debug for SendRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendRing").field("entries", &self.0.params().sq_entries()).finish()
    }
}

/// A `PACKET_TX_RING` mapping.
#[derive(Debug)]
struct TxRing {
    base: *mut u8,
    /// Slots in the ring; the next one to fill is `next`.
    slots: usize,
    next: usize,
}

// SAFETY: the mapping belongs to this value alone, and is only touched through `&mut self`.
unsafe impl Send for TxRing {}

/// Receives candidate replies (see [`bpf`]) on one interface.
#[derive(Debug)]
pub(crate) struct PacketReceiver {
    fd: OwnedFd,
}

/// Checks that this process may open raw packet sockets, by opening one.
pub fn check_raw_sockets() -> Result<(), ScanError> {
    packet_socket().map(drop)
}

impl PacketSender {
    /// A sender on `path`'s interface, addressing frames to its next hop.
    pub(crate) fn open(path: &NetPath, how: SendPath) -> Result<Self, ScanError> {
        let fd = packet_socket()?;
        set_option(&fd, libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1)
            .map_err(|e| socket_error("set PACKET_QDISC_BYPASS", e))?;
        set_option(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, SEND_BUFFER)
            .map_err(|e| socket_error("set SO_SNDBUF", e))?;
        // Bound with protocol 0, the socket sends on the interface and receives nothing.
        bind(&fd, link_address(path.ifindex, 0, None))
            .map_err(|e| socket_error(&format!("bind to {}", path.interface), e))?;
        let ring = match how {
            SendPath::TxRing => {
                Some(TxRing::map(&fd).map_err(|e| socket_error("map a TX ring", e))?)
            }
            SendPath::Sendmmsg | SendPath::IoUring => None,
        };
        let uring = match how {
            SendPath::IoUring => Some(SendRing(
                io_uring::IoUring::new(MAX_BATCH as u32)
                    .map_err(|e| socket_error("set up an io_uring for sending", e))?,
            )),
            SendPath::Sendmmsg | SendPath::TxRing => None,
        };
        let address = link_address(path.ifindex, libc::ETH_P_IP as u16, path.next_hop_mac);
        let frames = Box::new([[0; FRAME_LEN]; MAX_BATCH]);
        Ok(Self { fd, address, frames, full_queue_waits: 0, ring, uring })
    }

    /// Sends the first `count` frames of the batch, waiting while the kernel's queue is full.
    /// An error means the interface is unusable (gone, down): the scan cannot go on.
    pub(crate) fn send(&mut self, count: usize) -> io::Result<()> {
        let count = count.min(MAX_BATCH);
        if self.ring.is_some() {
            return self.send_ring(count);
        }
        if self.uring.is_some() {
            return self.send_uring(count);
        }
        // SAFETY: an all-zero iovec and mmsghdr are valid (null pointers, zero lengths).
        let mut iovecs: [libc::iovec; MAX_BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut messages: [libc::mmsghdr; MAX_BATCH] = unsafe { zeroed() };
        for i in 0..count {
            iovecs[i] =
                libc::iovec { iov_base: self.frames[i].as_mut_ptr().cast(), iov_len: FRAME_LEN };
            let header = &mut messages[i].msg_hdr;
            header.msg_name = (&raw mut self.address).cast();
            header.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            header.msg_iov = &raw mut iovecs[i];
            header.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: `messages[sent..count]` point into `iovecs`, `self.frames` and
            // `self.address`, all alive and unaliased for the duration of the call.
            let n = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    messages[sent..].as_mut_ptr(),
                    (count - sent) as libc::c_uint,
                    0,
                )
            };
            if n >= 0 {
                sent += n as usize;
                continue;
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN) => {
                    self.full_queue_waits += 1;
                    std::thread::sleep(FULL_QUEUE_PAUSE);
                }
                Some(libc::EINTR) => {}
                _ => return Err(error),
            }
        }
        Ok(())
    }
}

impl PacketSender {
    fn send_ring(&mut self, count: usize) -> io::Result<()> {
        let Some(ring) = self.ring.as_mut() else { return Ok(()) };
        for frame in &self.frames[..count] {
            ring.push(frame);
        }
        loop {
            // SAFETY: a null buffer of length 0 asks the kernel to send the ring's pending
            // slots; `self.address` is a valid sockaddr_ll.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    0,
                    (&raw const self.address).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if n >= 0 {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN) => {
                    self.full_queue_waits += 1;
                    std::thread::sleep(FULL_QUEUE_PAUSE);
                }
                Some(libc::EINTR) => {}
                _ => return Err(error),
            }
        }
    }
}

impl PacketSender {
    /// Submits one `SENDMSG` per frame and waits for all of them; frames the kernel refused
    /// for a full queue are submitted again after a pause.
    fn send_uring(&mut self, count: usize) -> io::Result<()> {
        let Some(SendRing(ring)) = self.uring.as_mut() else { return Ok(()) };
        // SAFETY: an all-zero iovec and msghdr are valid (null pointers, zero lengths).
        let mut iovecs: [libc::iovec; MAX_BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut messages: [libc::msghdr; MAX_BATCH] = unsafe { zeroed() };
        for i in 0..count {
            iovecs[i] =
                libc::iovec { iov_base: self.frames[i].as_mut_ptr().cast(), iov_len: FRAME_LEN };
            let header = &mut messages[i];
            header.msg_name = (&raw mut self.address).cast();
            header.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            header.msg_iov = &raw mut iovecs[i];
            header.msg_iovlen = 1;
        }
        let fd = io_uring::types::Fd(self.fd.as_raw_fd());
        let mut pending: Vec<usize> = (0..count).collect();
        let mut again = Vec::with_capacity(count);
        while !pending.is_empty() {
            for &i in &pending {
                let entry = io_uring::opcode::SendMsg::new(fd, &raw const messages[i])
                    .build()
                    .user_data(i as u64);
                // SAFETY: `messages[i]` and what it points to (`iovecs`, `self.frames`,
                // `self.address`) stay alive and untouched until every completion of this
                // batch is reaped below. The ring has MAX_BATCH entries, so the push fits.
                unsafe { ring.submission().push(&entry) }
                    .map_err(|_| io::Error::other("io_uring submission queue full"))?;
            }
            let mut reaped = 0;
            while reaped < pending.len() {
                match ring.submit_and_wait(pending.len() - reaped) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                    Err(e) => return Err(e),
                }
                for completion in ring.completion() {
                    reaped += 1;
                    let result = completion.result();
                    if result >= 0 {
                        continue;
                    }
                    match -result {
                        libc::ENOBUFS | libc::EAGAIN | libc::EINTR => {
                            again.push(completion.user_data() as usize);
                        }
                        errno => return Err(io::Error::from_raw_os_error(errno)),
                    }
                }
            }
            if !again.is_empty() {
                self.full_queue_waits += 1;
                std::thread::sleep(FULL_QUEUE_PAUSE);
            }
            std::mem::swap(&mut pending, &mut again);
            again.clear();
        }
        Ok(())
    }
}

impl TxRing {
    fn map(fd: &OwnedFd) -> io::Result<Self> {
        set_option(fd, libc::SOL_PACKET, libc::PACKET_VERSION, TPACKET_V2)?;
        let request = libc::tpacket_req {
            tp_block_size: RING_BLOCK as libc::c_uint,
            tp_block_nr: RING_BLOCKS as libc::c_uint,
            tp_frame_size: RING_SLOT as libc::c_uint,
            tp_frame_nr: (RING_BLOCK / RING_SLOT * RING_BLOCKS) as libc::c_uint,
        };
        // SAFETY: `request` is a valid tpacket_req for the duration of the call.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_TX_RING,
                (&raw const request).cast(),
                size_of::<libc::tpacket_req>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: maps the ring the kernel just allocated for this socket, at its size. The
        // mapping holds its own reference to the ring, so it stays valid whichever of it and
        // the socket is dropped first; it is unmapped once, in Drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                RING_BLOCK * RING_BLOCKS,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { base: base.cast(), slots: RING_BLOCK / RING_SLOT * RING_BLOCKS, next: 0 })
    }

    /// Copies `frame` into the next slot and marks it for sending. Batches are smaller than
    /// the ring and each is flushed by a blocking `sendto`, which returns once the kernel has
    /// released every slot, so the next slot is always free.
    fn push(&mut self, frame: &[u8; FRAME_LEN]) {
        // SAFETY: `next < slots`, so the slot lies inside the mapping; slots are 16-byte
        // aligned, enough for the header's u32 fields.
        unsafe {
            let slot = self.base.add(self.next * RING_SLOT);
            std::ptr::copy_nonoverlapping(frame.as_ptr(), slot.add(RING_DATA), FRAME_LEN);
            let header = slot.cast::<libc::tpacket2_hdr>();
            (*header).tp_len = FRAME_LEN as u32;
            // The kernel reads the status concurrently: publish it after the frame, with a
            // release store, as the packet_mmap documentation requires.
            std::sync::atomic::AtomicU32::from_ptr(&raw mut (*header).tp_status)
                .store(libc::TP_STATUS_SEND_REQUEST, std::sync::atomic::Ordering::Release);
        }
        self.next = (self.next + 1) % self.slots;
    }
}

impl Drop for TxRing {
    fn drop(&mut self) {
        // SAFETY: `base` came from mmap of this length and is unmapped once.
        unsafe { libc::munmap(self.base.cast(), RING_BLOCK * RING_BLOCKS) };
    }
}

impl PacketReceiver {
    /// A receiver of replies to `path.src_ip:src_port` on `path`'s interface. The filter is
    /// attached before the socket is bound, so not one unfiltered frame is ever queued.
    pub(crate) fn open(path: &NetPath, src_port: u16) -> Result<Self, ScanError> {
        let fd = packet_socket()?;
        set_nonblocking(&fd).map_err(|e| socket_error("make the receiver non-blocking", e))?;
        attach_filter(&fd, bpf::reply_filter(path.src_ip, src_port))
            .map_err(|e| socket_error("attach the reply filter", e))?;
        // Root may exceed net.core.rmem_max; anyone else gets what the limit allows.
        if set_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECEIVE_BUFFER).is_err() {
            set_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER)
                .map_err(|e| socket_error("set SO_RCVBUF", e))?;
        }
        bind(&fd, link_address(path.ifindex, libc::ETH_P_IP as u16, None))
            .map_err(|e| socket_error(&format!("bind to {}", path.interface), e))?;
        Ok(Self { fd })
    }

    /// One frame into `buffer`, returning its length; `WouldBlock` when none is queued (the
    /// socket never blocks: the engine waits for readiness). Other errors mean the interface
    /// is unusable.
    pub(crate) fn receive(&self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buffer` is valid for writes of its length.
            let n = unsafe {
                libc::recv(self.fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), 0)
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

impl AsRawFd for PacketReceiver {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A raw `AF_PACKET` socket; without `CAP_NET_RAW` the typed error says how to get it.
pub(crate) fn packet_socket() -> Result<OwnedFd, ScanError> {
    // SAFETY: plain system call; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        let error = io::Error::last_os_error();
        return Err(match error.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => ScanError::MissingCapability,
            _ => socket_error("open an AF_PACKET socket", error),
        });
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Attaches a classic BPF program; the kernel copies it.
pub(crate) fn attach_filter(fd: &OwnedFd, mut program: Vec<bpf::Instruction>) -> io::Result<()> {
    let filter =
        libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_mut_ptr() };
    // SAFETY: `filter` points to `program`, alive for the call.
    let attached = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const filter).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if attached == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

pub(crate) fn link_address(ifindex: u32, protocol: u16, mac: Option<MacAddr>) -> libc::sockaddr_ll {
    // SAFETY: an all-zero sockaddr_ll is valid.
    let mut address: libc::sockaddr_ll = unsafe { zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = protocol.to_be();
    address.sll_ifindex = ifindex as libc::c_int;
    if let Some(MacAddr(mac)) = mac {
        address.sll_halen = 6;
        address.sll_addr[..6].copy_from_slice(&mac);
    }
    address
}

pub(crate) fn bind(fd: &OwnedFd, address: libc::sockaddr_ll) -> io::Result<()> {
    // SAFETY: `address` is a valid sockaddr_ll of the size given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const address).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

pub(crate) fn set_option(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a c_int, valid for the size given, alive for the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

pub(crate) fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let r = unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

pub(crate) fn socket_error(operation: &str, source: io::Error) -> ScanError {
    ScanError::Socket { operation: operation.to_owned(), source }
}
