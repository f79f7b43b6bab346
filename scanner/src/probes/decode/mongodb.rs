//! MongoDB: `isMaster` then `buildInfo`, two OP_MSG commands on the `admin` database. Both
//! run without authentication; `isMaster` names the role and wire version, `buildInfo` the
//! server version. Servers before 3.6 do not speak OP_MSG and close the connection.
//!
//! Framing (MongoDB Wire Protocol): a 16-byte header (length, request id, response-to,
//! opcode 2013 for OP_MSG, 1 for the legacy OP_REPLY), then for OP_MSG a 4-byte flag word
//! and sections; a kind-0 section is one BSON document.

use super::Fields;

/// `{isMaster: 1, $db: "admin"}` as request 1, then `{buildInfo: 1, $db: "admin"}` as
/// request 2.
pub(crate) const REQUEST: &[u8] = b"\
\x37\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\
\x00\x00\x00\x00\x00\
\x22\x00\x00\x00\x10isMaster\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00\
\x38\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\
\x00\x00\x00\x00\x00\
\x23\x00\x00\x00\x10buildInfo\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00";

const OP_REPLY: u32 = 1;
const OP_MSG: u32 = 2013;
/// Documents looked at per answer: the two replies, with room for a server that splits.
const MAX_DOCUMENTS: usize = 4;

/// Top-level keys kept, and the field each becomes.
const KEPT: &[(&str, &str)] = &[
    ("version", "mongodb.version"),
    ("gitVersion", "mongodb.gitversion"),
    ("maxWireVersion", "mongodb.maxwireversion"),
    ("ismaster", "mongodb.primary"),
    ("isWritablePrimary", "mongodb.primary"),
    ("setName", "mongodb.setname"),
    ("msg", "mongodb.msg"),
    ("errmsg", "mongodb.error"),
    ("codeName", "mongodb.codename"),
];

pub(super) fn decode(data: &[u8], out: &mut Fields) -> bool {
    let mut rest = data;
    let mut documents = 0;
    while documents < MAX_DOCUMENTS {
        let Some((len, opcode)) = header(rest) else { break };
        let body = &rest[16..len];
        let doc = match opcode {
            // Flag bits, then a kind-0 section: the reply document.
            OP_MSG => body.get(4..).filter(|b| b.first() == Some(&0)).map(|b| &b[1..]),
            // Response flags, cursor id, starting from, number returned, then documents.
            OP_REPLY => body.get(20..),
            _ => None,
        };
        let Some(doc) = doc else { break };
        if !document(doc, out) {
            break;
        }
        documents += 1;
        rest = &rest[len..];
    }
    documents > 0
}

/// `(message length, opcode)` when `data` starts with a whole message that answers a request.
fn header(data: &[u8]) -> Option<(usize, u32)> {
    let len = le32(data, 0)? as usize;
    let response_to = le32(data, 8)?;
    let opcode = le32(data, 12)?;
    (len >= 16 && len <= data.len() && (1..=2).contains(&response_to)).then_some((len, opcode))
}

/// Reads the top-level elements of one BSON document, keeping those in [`KEPT`]. `false`
/// when it is not a well-formed document.
fn document(doc: &[u8], out: &mut Fields) -> bool {
    let Some(len) = le32(doc, 0).map(|l| l as usize) else { return false };
    if len < 5 || len > doc.len() || doc[len - 1] != 0 {
        return false;
    }
    let mut at = 4;
    while at < len - 1 {
        let kind = doc[at];
        let Some(name_len) = doc[at + 1..len].iter().position(|&b| b == 0) else { return false };
        let name = &doc[at + 1..at + 1 + name_len];
        let value = at + 1 + name_len + 1;
        let Some(size) = value_size(kind, &doc[..len], value) else { return false };
        let field = KEPT.iter().find(|(key, _)| key.as_bytes() == name).map(|(_, f)| *f);
        if let Some(field) = field {
            let v = &doc[value..value + size];
            match kind {
                // A string: length (with its NUL), bytes, NUL.
                0x02 => out.push(field, &v[4..v.len() - 1]),
                0x08 => out.push(field, if v[0] == 0 { "false" } else { "true" }),
                0x10 => out.push(field, i32::from_le_bytes([v[0], v[1], v[2], v[3]]).to_string()),
                _ => {}
            }
        }
        at = value + size;
    }
    true
}

/// Bytes taken by a value of BSON type `kind` at `at` in `doc`; `None` for a type this reader
/// does not know or a value that runs past the document.
fn value_size(kind: u8, doc: &[u8], at: usize) -> Option<usize> {
    let size = match kind {
        0x01 | 0x09 | 0x11 | 0x12 => 8,
        0x07 => 12,
        0x08 => 1,
        0x10 => 4,
        0x13 => 16,
        0x0A | 0x7F | 0xFF => 0,
        // String, JavaScript, symbol: length-prefixed and NUL-terminated.
        0x02 | 0x0D | 0x0E => {
            let n = le32(doc, at)? as usize;
            if n == 0 || doc.get(at + 4 + n - 1) != Some(&0) {
                return None;
            }
            4 + n
        }
        // Embedded document, array: their length counts itself.
        0x03 | 0x04 => le32(doc, at)? as usize,
        0x05 => 4 + 1 + le32(doc, at)? as usize,
        _ => return None,
    };
    (at.checked_add(size)? <= doc.len()).then_some(size)
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::decode::Decoder;

    /// A BSON document of `(type, name, value bytes)` elements.
    fn bson(elements: &[(u8, &str, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, name, value) in elements {
            body.push(*kind);
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(value);
        }
        let mut doc = ((body.len() + 5) as u32).to_le_bytes().to_vec();
        doc.extend(body);
        doc.push(0);
        doc
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = ((s.len() + 1) as u32).to_le_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }

    fn op_msg(request: u32, response_to: u32, doc: &[u8]) -> Vec<u8> {
        let mut m = ((16 + 4 + 1 + doc.len()) as u32).to_le_bytes().to_vec();
        for word in [request, response_to, OP_MSG, 0] {
            m.extend(word.to_le_bytes());
        }
        m.push(0);
        m.extend_from_slice(doc);
        m
    }

    #[test]
    fn the_request_is_two_well_framed_op_msgs() {
        let ismaster = bson(&[
            (0x10, "isMaster", 1i32.to_le_bytes().to_vec()),
            (0x02, "$db", string("admin")),
        ]);
        let buildinfo = bson(&[
            (0x10, "buildInfo", 1i32.to_le_bytes().to_vec()),
            (0x02, "$db", string("admin")),
        ]);
        let want = [op_msg(1, 0, &ismaster), op_msg(2, 0, &buildinfo)].concat();
        assert_eq!(REQUEST, want.as_slice());
    }

    /// The replies of a MongoDB 7.0 replica-set member, as the Wire Protocol and the
    /// `isMaster`/`buildInfo` command documentation lay them out (fields abridged; unknown
    /// ones such as `topologyVersion`, an embedded document, are skipped over).
    #[test]
    fn ismaster_and_buildinfo_replies_become_fields() {
        let topology = bson(&[(0x07, "processId", vec![7; 12]), (0x12, "counter", vec![0; 8])]);
        let hello = bson(&[
            (0x03, "topologyVersion", topology),
            (0x08, "ismaster", vec![1]),
            (0x02, "setName", string("rs0")),
            (0x09, "localTime", vec![0; 8]),
            (0x10, "maxWireVersion", 21i32.to_le_bytes().to_vec()),
            (0x01, "ok", 1f64.to_le_bytes().to_vec()),
        ]);
        let build = bson(&[
            (0x02, "version", string("7.0.14")),
            (0x02, "gitVersion", string("ce59cfc6a3c5e5c067dca0d30697edd68d4f5188")),
            (0x04, "versionArray", bson(&[(0x10, "0", 7i32.to_le_bytes().to_vec())])),
            (0x01, "ok", 1f64.to_le_bytes().to_vec()),
        ]);
        let answer = [op_msg(9, 1, &hello), op_msg(10, 2, &build)].concat();
        assert_eq!(
            Decoder::MongoDb.decode(&answer).as_deref(),
            Some(
                "mongodb.primary: true\nmongodb.setname: rs0\nmongodb.maxwireversion: 21\n\
                 mongodb.version: 7.0.14\n\
                 mongodb.gitversion: ce59cfc6a3c5e5c067dca0d30697edd68d4f5188\n"
            )
        );
        // Cut anywhere: what is whole is decoded, the rest ignored, never a panic.
        for n in 0..answer.len() {
            let _ = Decoder::MongoDb.decode(&answer[..n]);
        }
        let first = op_msg(9, 1, &hello).len();
        assert!(
            Decoder::MongoDb.decode(&answer[..first]).is_some_and(|t| !t.contains("version: 7"))
        );
    }

    #[test]
    fn an_auth_error_is_a_field() {
        let denied = bson(&[
            (0x01, "ok", 0f64.to_le_bytes().to_vec()),
            (0x02, "errmsg", string("command buildInfo requires authentication")),
            (0x10, "code", 13i32.to_le_bytes().to_vec()),
            (0x02, "codeName", string("Unauthorized")),
        ]);
        let text = Decoder::MongoDb.decode(&op_msg(3, 2, &denied)).unwrap_or_default();
        assert!(text.contains("mongodb.codename: Unauthorized\n"), "{text}");
    }
}
