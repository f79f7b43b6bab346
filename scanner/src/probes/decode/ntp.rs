//! NTP: a mode 3 (client) packet (RFC 5905 7.3), 48 bytes. Any NTP server answers with mode
//! 4: its version, stratum and reference id say whether it is synchronized and to what.

use super::Fields;

/// Leap indicator 3 (unsynchronized), version 4, mode 3, the rest zero.
pub(crate) const REQUEST: &[u8] = &{
    let mut p = [0u8; 48];
    p[0] = 0xe3;
    p
};

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    let Some(header) = data.get(..48) else { return false };
    let version = (header[0] >> 3) & 0x7;
    let mode = header[0] & 0x7;
    // Mode 4 answers a client; 2 (symmetric passive) answers some old peers.
    if !(1..=4).contains(&version) || !matches!(mode, 2 | 4) {
        return false;
    }
    let stratum = header[1];
    out.push("ntp.version", version.to_string());
    out.push("ntp.stratum", stratum.to_string());
    let refid = &header[12..16];
    // Stratum 0 and 1 carry an ASCII code (a kiss code, or the reference clock: GPS, PPS,
    // LOCL); from 2 on an IPv4 address (or a hash of an IPv6 one).
    let refid = if stratum <= 1 {
        String::from_utf8_lossy(refid).trim_end_matches('\0').to_string()
    } else {
        format!("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3])
    };
    out.push("ntp.refid", refid);
    out.push("ntp.leap", if header[0] >> 6 == 3 { "unsynchronized" } else { "synchronized" });
    true
}

#[cfg(test)]
mod tests {
    use crate::probes::decode::Decoder;

    /// A chrony server not yet synchronized (RFC 5905 7.3: LI 3, version 4, mode 4, stratum
    /// 0, kiss code INIT), then a synchronized stratum 2 server.
    #[test]
    fn server_replies_become_fields() {
        let mut init = [0u8; 48];
        init[0] = 0xe4;
        init[12..16].copy_from_slice(b"INIT");
        assert_eq!(
            Decoder::Ntp.decode(&init).as_deref(),
            Some("ntp.version: 4\nntp.stratum: 0\nntp.refid: INIT\nntp.leap: unsynchronized\n")
        );
        let mut synced = [0u8; 48];
        synced[0] = 0x24;
        synced[1] = 2;
        synced[12..16].copy_from_slice(&[192, 0, 2, 1]);
        let text = Decoder::Ntp.decode(&synced).unwrap_or_default();
        assert!(text.contains("ntp.refid: 192.0.2.1\nntp.leap: synchronized\n"), "{text}");
        // Our own request (mode 3) echoed back is not an answer.
        assert_eq!(Decoder::Ntp.decode(super::REQUEST), None);
        assert_eq!(Decoder::Ntp.decode(&synced[..47]), None);
    }
}
