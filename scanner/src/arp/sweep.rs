//! [`ArpSweep`]: asks every address of a set who holds it, paced and with retries, and
//! collects the answers.

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio_util::sync::CancellationToken;

use super::bpf;
use super::frame::{ETHERTYPE_ARP, REQUEST_LEN, RequestTemplate, parse_reply};
use crate::syn::socket::{
    attach_filter, bind, link_address, packet_socket, set_nonblocking, socket_error,
};
use crate::{MacAddr, NetPath, Pacer, ScanError, TargetSet};

/// Pause when the kernel's queue is full, before trying again.
const FULL_QUEUE_PAUSE: Duration = Duration::from_millis(1);

/// Settings of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpConfig {
    /// Requests per second (0 = unlimited). Requests are broadcast: every host of the link
    /// reads each one, so this stays far below a probe rate.
    pub rate: u64,
    /// Extra passes over the addresses that have not answered yet.
    pub retries: u8,
    /// How long to wait for replies after each pass.
    pub wait: Duration,
}

/// A host that answered ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Neighbour {
    /// Its address.
    pub ip: Ipv4Addr,
    /// The Ethernet address it answered with.
    pub mac: MacAddr,
}

/// A sweep over one interface.
#[derive(Debug, Clone)]
pub struct ArpSweep {
    config: ArpConfig,
    interface: String,
    ifindex: u32,
    src_mac: MacAddr,
    src_ip: Ipv4Addr,
}

/// The sweep's one socket: it sends the requests and receives the filtered replies.
#[derive(Debug)]
struct ArpSocket {
    fd: OwnedFd,
}

impl Default for ArpConfig {
    fn default() -> Self {
        Self { rate: 2_000, retries: 2, wait: Duration::from_millis(500) }
    }
}

impl Neighbour {
    /// The organisation the IEEE assigned the MAC's prefix to.
    pub fn vendor(&self) -> Option<&'static str> {
        self.mac.vendor()
    }
}

impl ArpSweep {
    /// A sweep from `path`'s interface, MAC and source address.
    pub fn new(config: ArpConfig, path: &NetPath) -> Self {
        Self {
            config,
            interface: path.interface.clone(),
            ifindex: path.ifindex,
            src_mac: path.src_mac,
            src_ip: path.src_ip,
        }
    }

    /// Asks every address of `targets` (but our own) and returns those that answered, in
    /// address order, each with the first MAC it answered with. Stops early when all have
    /// answered, or when `cancel` fires (returning what was found so far).
    ///
    /// An error means the interface is unusable (gone, down) or the socket cannot be opened.
    pub async fn run(
        &self,
        targets: &TargetSet,
        cancel: CancellationToken,
    ) -> Result<Vec<Neighbour>, ScanError> {
        let socket = ArpSocket::open(self)?;
        // SAFETY: the socket owns its descriptor and closes it only when dropped, which
        // happens with the AsyncFd that now owns it.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| socket_error("register the ARP socket", e.into()))?;
        let wanted = targets.len() - u64::from(targets.contains(self.src_ip));
        let found = Mutex::new(BTreeMap::new());
        let stop = cancel.child_token();
        let (sent, received) = tokio::join!(
            self.send_all(&socket, targets, wanted, &found, &stop),
            self.receive(&socket, targets, wanted, &found, &stop),
        );
        sent.and(received)?;
        let found = found.into_inner().unwrap_or_else(PoisonError::into_inner);
        Ok(found.into_iter().map(|(ip, mac)| Neighbour { ip, mac }).collect())
    }

    /// `1 + retries` passes over the addresses that have not answered, each followed by the
    /// wait; fires `stop` when done.
    async fn send_all(
        &self,
        socket: &AsyncFd<ArpSocket>,
        targets: &TargetSet,
        wanted: u64,
        found: &Mutex<BTreeMap<Ipv4Addr, MacAddr>>,
        stop: &CancellationToken,
    ) -> Result<(), ScanError> {
        let template = RequestTemplate::new(self.src_mac, self.src_ip);
        let pacer = Pacer::new(self.config.rate);
        let mut frame = [0u8; REQUEST_LEN];
        let addresses =
            || targets.ranges().iter().flat_map(|r| u32::from(r.first)..=u32::from(r.last));
        for _pass in 0..=self.config.retries {
            for ip in addresses().map(Ipv4Addr::from) {
                let known = found.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&ip);
                if ip == self.src_ip || known {
                    continue;
                }
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return Ok(()),
                    () = pacer.acquire() => {}
                }
                template.write(ip, &mut frame);
                while let Err(error) = socket.get_ref().send(&frame, self.ifindex) {
                    match error.raw_os_error() {
                        Some(libc::ENOBUFS | libc::EAGAIN) => {
                            tokio::time::sleep(FULL_QUEUE_PAUSE).await;
                        }
                        Some(libc::EINTR) => {}
                        _ => {
                            stop.cancel();
                            return Err(socket_error(
                                &format!("send ARP requests on {}", self.interface),
                                error,
                            ));
                        }
                    }
                }
            }
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.config.wait) => {}
            }
            if found.lock().unwrap_or_else(PoisonError::into_inner).len() as u64 >= wanted {
                break;
            }
        }
        stop.cancel();
        Ok(())
    }

    /// Records every valid reply from a target until `stop`; fires it when all answered.
    async fn receive(
        &self,
        socket: &AsyncFd<ArpSocket>,
        targets: &TargetSet,
        wanted: u64,
        found: &Mutex<BTreeMap<Ipv4Addr, MacAddr>>,
        stop: &CancellationToken,
    ) -> Result<(), ScanError> {
        let mut buffer = [0u8; 128];
        loop {
            let mut guard = tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                ready = socket.readable() => ready
                    .map_err(|e| socket_error("wait for ARP replies", e))?,
            };
            while let Ok(received) = guard.try_io(|inner| inner.get_ref().receive(&mut buffer)) {
                let len = received.map_err(|e| {
                    stop.cancel();
                    socket_error(&format!("receive ARP replies on {}", self.interface), e)
                })?;
                let Some((ip, mac)) = parse_reply(&buffer[..len], self.src_ip) else { continue };
                if !targets.contains(ip) {
                    continue;
                }
                let mut found = found.lock().unwrap_or_else(PoisonError::into_inner);
                let first = *found.entry(ip).or_insert(mac);
                if first != mac {
                    // Two hosts claim one address; the first answer is kept, as the kernel's
                    // neighbour table would.
                    tracing::debug!(%ip, %first, other = %mac, "Two MACs answered for one address.");
                }
                if found.len() as u64 >= wanted {
                    stop.cancel();
                    return Ok(());
                }
            }
        }
    }
}

impl ArpSocket {
    /// A non-blocking socket on the sweep's interface that sees only ARP replies to us. The
    /// filter is attached before the socket is bound, so nothing unfiltered is queued.
    fn open(sweep: &ArpSweep) -> Result<Self, ScanError> {
        let fd = packet_socket()?;
        set_nonblocking(&fd).map_err(|e| socket_error("make the ARP socket non-blocking", e))?;
        attach_filter(&fd, bpf::reply_filter(sweep.src_ip))
            .map_err(|e| socket_error("attach the ARP reply filter", e))?;
        bind(&fd, link_address(sweep.ifindex, ETHERTYPE_ARP, None))
            .map_err(|e| socket_error(&format!("bind to {}", sweep.interface), e))?;
        Ok(Self { fd })
    }

    /// Sends one whole frame (the Ethernet header included) on interface `ifindex`.
    fn send(&self, frame: &[u8], ifindex: u32) -> io::Result<()> {
        let address = link_address(ifindex, ETHERTYPE_ARP, Some(MacAddr([0xff; 6])));
        // SAFETY: `frame` and `address` are valid for reads of the sizes given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const address).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n >= 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    /// One frame into `buffer`; `WouldBlock` when none is queued.
    fn receive(&self, buffer: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buffer` is valid for writes of its length.
        let n =
            unsafe { libc::recv(self.fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if n >= 0 { Ok(n as usize) } else { Err(io::Error::last_os_error()) }
    }
}

impl AsRawFd for ArpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
