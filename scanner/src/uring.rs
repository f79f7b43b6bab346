//! Whether this kernel and sandbox let the process use io_uring.

use std::io;

use io_uring::opcode;

/// Size of the kernel's `struct io_uring_params` (stable since Linux 5.1).
const PARAMS_LEN: usize = 120;

/// Sets up a one-entry io_uring and closes it at once. `Err` carries the reason the kernel
/// gave: `ENOSYS` (too old, or compiled out), `EPERM` (disabled by the
/// `kernel.io_uring_disabled` sysctl or a seccomp filter), `ENOMEM` (locked-memory limit).
pub fn check_io_uring() -> io::Result<()> {
    // u64 elements keep the buffer aligned like the kernel's struct.
    let mut params = [0u64; PARAMS_LEN / 8];
    // SAFETY: io_uring_setup reads and writes at most `struct io_uring_params` (120 bytes)
    // through the pointer, which points to 120 zeroed, aligned bytes that outlive the call.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}

/// Whether the io_uring connect path can run here: a ring sets up and the kernel supports
/// every operation it submits (connect, linked timeout, timeout, cancel, close: Linux 5.6 or
/// later). `Err` says what is missing.
pub fn check_io_uring_connect() -> io::Result<()> {
    check_io_uring()?;
    let ring = io_uring::IoUring::new(2)?;
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    let needed = [
        (opcode::Connect::CODE, "IORING_OP_CONNECT"),
        (opcode::LinkTimeout::CODE, "IORING_OP_LINK_TIMEOUT"),
        (opcode::Timeout::CODE, "IORING_OP_TIMEOUT"),
        (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
        (opcode::Close::CODE, "IORING_OP_CLOSE"),
    ];
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("this kernel's io_uring lacks {name} (Linux 5.6 or later has it)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_without_panicking() {
        // Either answer is fine: sandboxes often disable io_uring. The errno must be real.
        if let Err(error) = check_io_uring() {
            assert!(error.raw_os_error().is_some(), "{error}");
        }
    }

    #[test]
    fn the_connect_check_agrees_with_the_setup_check() {
        // The connect path needs a working ring, so it can only be usable where setup is.
        if check_io_uring_connect().is_ok() {
            check_io_uring().expect("the connect check passed, so io_uring_setup works");
        }
    }
}
