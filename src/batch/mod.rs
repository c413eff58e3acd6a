//! Batch and fleet: find every capture below a root, analyse many captures on the one rayon pool
//! with each capture isolated (an unreadable, corrupt or panicking capture becomes a `failed`
//! line and the rest goes on), select deterministic shards, and rebuild the fleet summary and the
//! cross-capture correlation from the JSONL lines alone — so a merged set of shard outputs gives
//! byte-identical summaries to a single run.

mod digest;
mod fleet;
mod summary;

use serde_json::Value;

pub use crate::capture::roots::{find_captures, sort_paths};
pub use digest::Digest;
pub use fleet::{CrossFinding, FLEET_RULES};
pub use summary::{summarize, FleetSummary};

/// `--shard K/N`: the K-th of N deterministic parts of the captures (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/8")?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("K in {s:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("N in {s:?} is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("{s:?}: need 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether a capture (named by its path relative to the batch root) belongs to this shard.
    /// FNV-1a of the relative path: stable when other captures are added or removed.
    pub fn contains(&self, rel: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in rel.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// Read capture lines from JSONL text (other records, such as summaries, are skipped). Errors name
/// the line.
pub fn read_capture_lines(text: &str, source: &str) -> std::result::Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{source}: line {}: not JSON: {e}", i + 1))?;
        match v.get("record").and_then(Value::as_str) {
            Some("capture") => out.push(v),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{source}: line {}: no \"record\" field: not rdsdiag batch output",
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_captures() {
        let names: Vec<String> = (0..300)
            .map(|i| format!("customer{}/host{i}", i % 7))
            .collect();
        let shards: Vec<Shard> = (1..=4)
            .map(|k| format!("{k}/4").parse().expect("shard"))
            .collect();
        for n in &names {
            assert_eq!(
                shards.iter().filter(|s| s.contains(n)).count(),
                1,
                "{n} is in exactly one shard"
            );
        }
        for s in &shards {
            let size = names.iter().filter(|n| s.contains(n)).count();
            assert!(
                (40..=110).contains(&size),
                "shard {s:?} holds {size} of 300"
            );
        }
    }

    #[test]
    fn shard_syntax_is_checked() {
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
    }

    #[test]
    fn capture_lines_are_read_back_and_foreign_lines_refused() {
        let text = "{\"record\":\"capture\",\"path\":\"a\"}\n\n{\"record\":\"fleet_summary\"}\n";
        assert_eq!(read_capture_lines(text, "f").expect("reads").len(), 1);
        let err = read_capture_lines("{\"path\":\"a\"}\n", "f.jsonl").expect_err("no record field");
        assert!(err.contains("f.jsonl: line 1"), "{err}");
        assert!(read_capture_lines("not json\n", "f")
            .expect_err("bad")
            .contains("line 1"));
    }
}
