//! Sizes as people type them for the limit flags: `64GiB`, `10MiB`, `500 MB`, `4g` or raw bytes.
//! Binary units (`KiB`, `MiB`, `GiB`, `TiB`, and the bare letters `K`, `M`, `G`, `T`) are powers
//! of 1024; decimal units (`kB`, `MB`, `GB`, `TB`) are powers of 1000; `B` or no unit is bytes.

/// Parse a size; the error says what is accepted.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num = num.replace('_', "");
    let unit = unit.trim();
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)"
            ))
        }
    };
    let bad = || format!("{s:?} is not a size (e.g. 64GiB, 10MiB, 500MB or a number of bytes)");
    if num.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(mult)
            .ok_or_else(|| format!("{s:?} is too large"));
    }
    let f: f64 = num.parse().map_err(|_| bad())?;
    let v = f * mult as f64;
    if !v.is_finite() || v < 0.0 || v >= u64::MAX as f64 {
        return Err(format!("{s:?} is too large"));
    }
    Ok(v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_typed() {
        assert_eq!(parse_size("64GiB"), Ok(64 << 30));
        assert_eq!(parse_size("64 GiB"), Ok(64 << 30));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("4294967296"), Ok(4 << 30));
        assert_eq!(parse_size("1_000"), Ok(1000));
        for bad in ["", "GiB", "12 parsecs", "-1", "1e3", "99999999999TiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let d = rdsdiag::capture::CaptureOptions::default();
        assert_eq!(
            parse_size(super::super::MAX_ZIP_BYTES),
            Ok(d.max_zip_total_bytes)
        );
        assert_eq!(
            parse_size(super::super::MAX_FILE_BYTES),
            Ok(d.max_file_bytes)
        );
    }
}
