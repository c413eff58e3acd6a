//! The output time zone of every format for people (and of timeline JSONL/Timesketch): `UTC` by
//! default, an IANA name, a fixed offset, or `host`, the capture's own zone from its SYSTEM hive
//! through the Windows → IANA table (`catalog::zones`), with daylight saving time. Only how times
//! are written changes, never the analysis; report JSON stays UTC.

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

use crate::host::Fact;

/// The zone times are written in.
#[derive(Debug, Clone)]
pub struct OutputTz {
    label: String,
    tz: TimeZone,
    utc: bool,
}

/// A `--tz` value that is neither an IANA zone name nor a fixed offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {input:?}: use UTC, an IANA name such as Europe/Berlin, or a fixed offset such as +02:00 ({detail})")]
pub struct TzError {
    pub input: String,
    pub detail: String,
}

impl Default for OutputTz {
    fn default() -> Self {
        OutputTz::utc()
    }
}

impl OutputTz {
    /// UTC, written with a `Z` suffix.
    pub fn utc() -> OutputTz {
        OutputTz {
            label: "UTC".into(),
            tz: TimeZone::UTC,
            utc: true,
        }
    }

    /// Parse `UTC`, `Z`, a fixed offset (`+02:00`, `-0530`, `+2`) or an IANA name
    /// (`Europe/Berlin`, from the system's or jiff's time zone database).
    pub fn parse(s: &str) -> Result<OutputTz, TzError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Ok(OutputTz::utc());
        }
        if t.starts_with('+') || t.starts_with('-') {
            let secs = parse_offset(t).ok_or_else(|| TzError {
                input: s.into(),
                detail: "offsets look like +02:00, -0530 or +2 and stay within ±25:59".into(),
            })?;
            let off = Offset::from_seconds(secs).map_err(|e| TzError {
                input: s.into(),
                detail: e.to_string(),
            })?;
            return Ok(OutputTz {
                label: format!("UTC{}", offset_text(secs)),
                tz: TimeZone::fixed(off),
                utc: secs == 0,
            });
        }
        let tz = TimeZone::get(t).map_err(|e| TzError {
            input: s.into(),
            detail: e.to_string(),
        })?;
        Ok(OutputTz {
            label: t.to_string(),
            tz,
            utc: false,
        })
    }

    /// True when times are written in UTC.
    pub fn is_utc(&self) -> bool {
        self.utc
    }

    /// The host's own zone: its Windows zone key name through the CLDR table to an IANA zone
    /// (daylight saving time applies), else its `Bias` as a fixed offset, else UTC; the note
    /// says when the result is less than the host's zone with daylight saving time.
    pub fn of_host(h: &crate::host::TimeZone) -> (OutputTz, Option<String>) {
        let key = h
            .key_name
            .value()
            .map(|s| s.trim_matches(char::from(0)).trim().to_string());
        if let Some(k) = &key {
            if let Some(z) = crate::catalog::zones::iana_of(k) {
                if let Ok(tz) = TimeZone::get(&z.iana) {
                    return (
                        OutputTz {
                            label: format!("{} (host: {k})", z.iana),
                            tz,
                            utc: false,
                        },
                        None,
                    );
                }
            }
        }
        let what = key
            .clone()
            .map(|k| format!("zone {k:?} has no IANA mapping or no zone data"))
            .unwrap_or_else(|| "the time zone key name is not in the SYSTEM hive".into());
        match h.bias_minutes.value() {
            Some(&bias) => {
                let secs = (-bias * 60) as i32;
                match Offset::from_seconds(secs) {
                    Ok(off) => (
                        OutputTz {
                            label: format!("UTC{} (host bias, no daylight saving time)", offset_text(secs)),
                            tz: TimeZone::fixed(off),
                            utc: secs == 0,
                        },
                        Some(format!("--tz host: {what}; times use the host's standard offset without daylight saving time")),
                    ),
                    Err(_) => (OutputTz::utc(), Some(format!("--tz host: {what} and its bias is out of range; times are UTC"))),
                }
            }
            None => (
                OutputTz::utc(),
                Some(match &h.key_name {
                    Fact::NotProvided { .. } => {
                        "--tz host: no SYSTEM hive in the capture; times are UTC".to_string()
                    }
                    _ => format!("--tz host: {what}; times are UTC"),
                }),
            ),
        }
    }

    /// How the zone is named in output headers.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The time in this zone and its suffix: `utc_suffix` in UTC, the offset elsewhere.
    fn zoned(&self, t: Timestamp, utc_suffix: &str) -> (jiff::Zoned, String) {
        let z = t.to_zoned(self.tz.clone());
        let secs = z.offset().seconds();
        let suffix = if self.utc && secs == 0 {
            utc_suffix.to_string()
        } else {
            offset_text(secs)
        };
        (z, suffix)
    }

    /// A shorter form for text: seconds only (`2020-09-17 18:46:15 +02:00`, `… UTC` in UTC,
    /// as the rules write times in their text).
    pub fn format_short(&self, t: Timestamp) -> String {
        let (z, suffix) = self.zoned(t, "UTC");
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
            z.year(),
            z.month(),
            z.day(),
            z.hour(),
            z.minute(),
            z.second(),
            suffix
        )
    }

    /// `2020-09-17T16:46:15.6192260Z` in UTC, `2020-09-17T18:46:15.6192260+02:00` elsewhere.
    pub fn format(&self, t: Timestamp) -> String {
        let (z, suffix) = self.zoned(t, "Z");
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}{}",
            z.year(),
            z.month(),
            z.day(),
            z.hour(),
            z.minute(),
            z.second(),
            z.subsec_nanosecond().unsigned_abs() / 100,
            suffix
        )
    }
}

fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

fn parse_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (h, m) = if let Some((h, m)) = rest.split_once(':') {
        (h, m)
    } else if rest.len() == 4 {
        rest.split_at(2)
    } else {
        (rest, "0")
    };
    if !digits_only(h) || !digits_only(m) || h.len() > 2 || m.len() > 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 25 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// What `--tz` asked for: a zone, or the capture's own (`host`), resolved per capture.
#[derive(Debug, Clone, Default)]
pub enum TzChoice {
    Zone(OutputTz),
    #[default]
    Utc,
    /// The host's zone; UTC (with a note) when the capture has none.
    Host,
}

impl TzChoice {
    /// Parse `--tz`: `host` (any case) or whatever [`OutputTz::parse`] reads.
    pub fn parse(s: &str) -> Result<TzChoice, TzError> {
        if s.trim().eq_ignore_ascii_case("host") {
            return Ok(TzChoice::Host);
        }
        let tz = OutputTz::parse(s)?;
        Ok(if tz.is_utc() {
            TzChoice::Utc
        } else {
            TzChoice::Zone(tz)
        })
    }

    /// True for `host`.
    pub fn is_host(&self) -> bool {
        matches!(self, TzChoice::Host)
    }

    /// The zone for a capture whose host zone is `host` (`None`: no SYSTEM hive read), with a
    /// note when `host` could not be honoured as asked.
    pub fn resolve(&self, host: Option<&crate::host::TimeZone>) -> (OutputTz, Option<String>) {
        match self {
            TzChoice::Utc => (OutputTz::utc(), None),
            TzChoice::Zone(z) => (z.clone(), None),
            TzChoice::Host => match host {
                Some(h) => OutputTz::of_host(h),
                None => (
                    OutputTz::utc(),
                    Some("--tz host: the capture's time zone is unknown (no SYSTEM hive read); times are UTC".into()),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse_and_format() {
        let t: Timestamp = "2020-09-17T16:46:15.6192260Z".parse().unwrap();
        assert_eq!(OutputTz::utc().format(t), "2020-09-17T16:46:15.6192260Z");
        let p = OutputTz::parse("+02:00").unwrap();
        assert_eq!(p.label(), "UTC+02:00");
        assert_eq!(p.format(t), "2020-09-17T18:46:15.6192260+02:00");
        assert_eq!(
            OutputTz::parse("-0530").unwrap().format(t),
            "2020-09-17T11:16:15.6192260-05:30"
        );
        assert_eq!(OutputTz::parse("+2").unwrap().label(), "UTC+02:00");
        assert_eq!(
            OutputTz::parse("utc").unwrap().format(t),
            "2020-09-17T16:46:15.6192260Z"
        );
        assert_eq!(
            OutputTz::parse("+00:00").unwrap().format(t),
            "2020-09-17T16:46:15.6192260Z"
        );
        for bad in ["+99:00", "+ab", "Mars/Olympus", "+1:2:3", ""] {
            assert!(OutputTz::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iana_zone_applies_dst() {
        // Needs a time zone database (system zoneinfo, or jiff's bundled copy).
        let Ok(z) = OutputTz::parse("Europe/Berlin") else {
            eprintln!("NOTE: no time zone database on this system; IANA zone test skipped");
            return;
        };
        let summer: Timestamp = "2020-07-01T12:00:00Z".parse().unwrap();
        let winter: Timestamp = "2020-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(z.format(summer), "2020-07-01T14:00:00.0000000+02:00");
        assert_eq!(z.format(winter), "2020-01-01T13:00:00.0000000+01:00");
    }

    fn prov() -> crate::registry::RegProvenance {
        crate::registry::RegProvenance {
            file: "SYSTEM".into(),
            form: crate::registry::SourceForm::Hive,
            hive: crate::evidence::HiveKind::System,
            key: "ControlSet001\\Control\\TimeZoneInformation".into(),
            value: "TimeZoneKeyName".into(),
            value_type: "REG_SZ".into(),
        }
    }

    fn host_zone(key: Option<&str>, bias: Option<i64>) -> crate::host::TimeZone {
        let fact = |v| Fact::Found {
            value: v,
            provenance: prov(),
        };
        crate::host::TimeZone {
            key_name: match key {
                Some(k) => fact(k.to_string()),
                None => Fact::NotProvided {
                    hive: crate::evidence::HiveKind::System,
                },
            },
            bias_minutes: match bias {
                Some(b) => Fact::Found {
                    value: b,
                    provenance: prov(),
                },
                None => Fact::NotProvided {
                    hive: crate::evidence::HiveKind::System,
                },
            },
        }
    }

    #[test]
    fn host_zone_follows_daylight_saving_time() {
        let summer: Timestamp = "2024-07-01T12:00:00Z".parse().unwrap();
        let winter: Timestamp = "2024-01-01T12:00:00Z".parse().unwrap();
        let (z, note) =
            TzChoice::Host.resolve(Some(&host_zone(Some("W. Europe Standard Time"), Some(-60))));
        if TimeZone::get("Europe/Berlin").is_ok() {
            assert!(note.is_none(), "{note:?}");
            assert_eq!(z.label(), "Europe/Berlin (host: W. Europe Standard Time)");
            assert_eq!(z.format(summer), "2024-07-01T14:00:00.0000000+02:00");
            assert_eq!(z.format(winter), "2024-01-01T13:00:00.0000000+01:00");
        }
        // An unknown zone falls back to the bias, without daylight saving time, and says so.
        let (z, note) =
            TzChoice::Host.resolve(Some(&host_zone(Some("Mars Standard Time"), Some(-60))));
        assert_eq!(z.format(summer), "2024-07-01T13:00:00.0000000+01:00");
        assert!(note.unwrap().contains("without daylight saving time"));
        // No SYSTEM hive: UTC, with a note.
        let (z, note) = TzChoice::Host.resolve(Some(&host_zone(None, None)));
        assert!(z.is_utc());
        assert!(note.is_some());
        let (z, note) = TzChoice::Host.resolve(None);
        assert!(z.is_utc() && note.is_some());
        assert!(TzChoice::parse("HOST").unwrap().is_host());
        assert!(matches!(TzChoice::parse("utc").unwrap(), TzChoice::Utc));
    }
}
