//! The kernel's arrival stamps on a TCP socket (Linux, where the option's number is the
//! generic one). Elsewhere there are none and answers are timed when read.

pub(super) use imp::{enable, recv};

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
mod imp {
    use mio::net::TcpStream;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// `SO_TIMESTAMPNS` (and `SCM_TIMESTAMPNS`) in `asm-generic/socket.h`: a `timespec` of
    /// `CLOCK_REALTIME` with each read; 64-bit on these targets.
    const SO_TIMESTAMPNS: libc::c_int = 35;

    /// Ask for the stamps on `s`; false if the kernel refuses.
    pub(in crate::live::thread::http1) fn enable(s: &TcpStream) -> bool {
        let on: libc::c_int = 1;
        // SAFETY: `on` outlives the call and its size is passed; the fd is an open socket.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    }

    /// Read from `s` into `buf`; with the bytes, when the last of them arrived (since the
    /// Unix epoch, the real-time clock), if the kernel said.
    pub(in crate::live::thread::http1) fn recv(s: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // Room for one control message holding a timespec, aligned as cmsghdr needs.
        let mut control = [0u64; 8];
        // SAFETY: an all-zero msghdr is valid (no name, no buffers) before the fields are set.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` points at `iov` (into `buf`) and `control`, all alive for the call.
        let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut at = None;
        // SAFETY: the CMSG macros walk the control buffer the kernel filled, within the length
        // it set; the data of a SCM_TIMESTAMPNS message is one timespec, read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SO_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    if ts.tv_sec > 0 && (0..1_000_000_000).contains(&ts.tv_nsec) {
                        at = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok((n as usize, at))
    }
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))))]
mod imp {
    use mio::net::TcpStream;
    use std::time::Duration;

    pub(in crate::live::thread::http1) fn enable(_: &TcpStream) -> bool {
        false
    }

    pub(in crate::live::thread::http1) fn recv(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, Option<Duration>)> {
        use std::io::Read;
        Ok(((&*s).read(buf)?, None))
    }
}
