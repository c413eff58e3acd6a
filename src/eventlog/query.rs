//! The event query of `rdsdiag events` (`--id`, `--provider`, `--since`, `--until`) and the one
//! event order every command uses. The pipeline runs it (`pipeline::events`).

use super::{Event, EventFilter};

/// Errors of the query's own arguments.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("{value:?} is not a time: use RFC 3339 (2020-09-19T03:20:00Z), a UTC date-time (2020-09-19T03:20:00) or a date (2020-09-19)")]
    BadTime { value: String },
}

/// What to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Canonical EventIDs (empty: all catalogued).
    pub ids: Vec<u16>,
    /// Provider name parts, case-insensitive (empty: all).
    pub providers: Vec<String>,
    /// Keep events at or after this time.
    pub since: Option<jiff::Timestamp>,
    /// Keep events before this time.
    pub until: Option<jiff::Timestamp>,
}

impl Query {
    pub fn filter(&self) -> EventFilter {
        EventFilter::for_query(&self.ids, &self.providers)
    }

    pub fn in_window(&self, t: jiff::Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Parse a `--since`/`--until` value. Times without an offset are UTC.
pub fn parse_time(value: &str) -> Result<jiff::Timestamp, QueryError> {
    let v = value.trim();
    let bad = || QueryError::BadTime {
        value: value.to_string(),
    };
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = v.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| bad());
    }
    Err(bad())
}

/// Oldest first; ties by file and record ID (stable, reproducible output).
pub fn sort_events(events: &mut [Event]) {
    events.sort_by(|a, b| {
        (a.time, &a.file, a.record_id, a.offset).cmp(&(b.time, &b.file, b.record_id, b.offset))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(
            parse_time("2020-09-19T03:20:00Z").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19T03:20:00").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19").unwrap().to_string(),
            "2020-09-19T00:00:00Z"
        );
        assert_eq!(
            parse_time("2020-09-19T05:20:00+02:00").unwrap().to_string(),
            "2020-09-19T03:20:00Z"
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn window_is_half_open() {
        let q = Query {
            since: Some(parse_time("2020-01-01").unwrap()),
            until: Some(parse_time("2020-01-02").unwrap()),
            ..Query::default()
        };
        assert!(q.in_window(parse_time("2020-01-01").unwrap()));
        assert!(!q.in_window(parse_time("2020-01-02").unwrap()));
    }
}
