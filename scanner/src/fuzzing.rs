//! Entry points for the fuzz targets in `scanner/fuzz/` (feature `fuzzing`). The frame parser
//! is crate-private; the fuzzers reach it through here and the validator through its public
//! API.

use crate::syn::parse::Frame;

/// Parses `bytes` as a received frame: the `Debug` text of what was read, or `None` when the
/// frame is refused. Never panics, whatever the bytes.
pub fn parse_frame(bytes: &[u8]) -> Option<String> {
    Frame::parse(bytes).map(|frame| format!("{frame:?}"))
}
