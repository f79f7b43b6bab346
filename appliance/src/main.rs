//! The `sonde` binary; see the library for everything it does.
#![forbid(unsafe_code)]

fn main() {
    sonde::run()
}
