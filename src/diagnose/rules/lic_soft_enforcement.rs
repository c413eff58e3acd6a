//! RDS-LIC-SOFT-ENFORCEMENT: the 60-minute rhythm of soft licensing enforcement (connected about
//! an hour, disconnected, reconnects) with licensing trouble, only on Windows versions that have
//! soft enforcement for the host's licensing mode (from `builds.tsv`), after ruling out a session
//! time limit, user and administrator disconnects (reference §16 D5, §15, §7).

use jiff::SignedDuration;

use super::lic_shared::{self, and_list, source_words, timeline_evidence, when, Strength};
use crate::catalog::builds::builds;
use crate::config::names::{LICENSE_SERVERS, LICENSING_MODE, MAX_CONNECTION_TIME, MAX_IDLE_TIME};
use crate::diagnose::common::setting_evidence;
use crate::diagnose::{
    Confidence, Evidence, EvidenceKind, Model, Outcome, Rule, RuleMeta, Severity,
};
use crate::host::facts::{RoleKind, Tri};
use crate::timeline::{IntervalCite, Pattern, PatternKind, Role};

pub struct SoftEnforcement;

static META: RuleMeta = RuleMeta {
    id: "RDS-LIC-SOFT-ENFORCEMENT",
    severity: Severity::Warning,
    evidence: &[EvidenceKind::Event, EvidenceKind::Registry],
    doc: include_str!("RDS-LIC-SOFT-ENFORCEMENT.md"),
};

const LSM_OPERATIONAL: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
/// Intervals listed in the explanation.
const MAX_LISTED: usize = 6;
/// Pattern events cited.
const MAX_EVIDENCE: usize = 12;
/// Licensing mode codes (reference §4.2).
const PER_DEVICE: u64 = 2;
const PER_USER: u64 = 4;

/// The server versions with soft enforcement, from the build table (for messages).
fn versions_with_soft_enforcement() -> String {
    let mut out: Vec<String> = Vec::new();
    for b in builds() {
        let modes = match (b.soft_enforcement_per_device, b.soft_enforcement_per_user) {
            (true, true) => "Per Device and Per User",
            (true, false) => "Per Device",
            (false, true) => "Per User",
            (false, false) => continue,
        };
        out.push(format!("{} ({modes})", b.server_name));
    }
    and_list(&out)
}

/// Why an interval is explained by something other than licensing, if it is.
fn look_alike(m: &Model<'_>, c: &IntervalCite) -> Option<String> {
    if let Some(class) = lic_shared::explained_otherwise(c.reason_code) {
        return Some(format!(
            "reason {} ({class})",
            c.reason_code.unwrap_or_default()
        ));
    }
    let session = m.timeline.session(&c.session)?;
    let d = session
        .intervals
        .iter()
        .find(|iv| iv.start.time == c.start)
        .and_then(|iv| iv.disconnect)
        .and_then(|i| session.disconnects.get(i))?;
    let limit = d.events.iter().any(|r| {
        m.timeline
            .events
            .get(r.index)
            .is_some_and(|e| e.role == Role::TimeLimitDisconnect)
    });
    limit.then(|| "a session time-limit event".to_string())
}

impl Rule for SoftEnforcement {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, m: &Model<'_>) -> Outcome {
        let role = m.role(RoleKind::SessionHost);
        if role == Tri::No {
            return Outcome::NotApplicable;
        }
        let patterns: Vec<_> = m
            .timeline
            .patterns_of(PatternKind::HourlyDisconnects)
            .collect();
        if patterns.is_empty() {
            return match role {
                Tri::Yes if !m.has_channel(LSM_OPERATIONAL) => Outcome::Undecided(vec![
                    "LocalSessionManager Operational log not provided: session durations unknown"
                        .into(),
                ]),
                Tri::Yes => Outcome::Pass,
                _ => Outcome::NotApplicable,
            };
        }
        if time_limit_of_an_hour(m) {
            return Outcome::Pass;
        }
        let (kept, ruled_out) = unexplained_intervals(m, &patterns);
        if kept.is_empty() {
            return Outcome::Pass;
        }
        let trouble = licensing_trouble(m, &kept);
        if trouble.in_period == 0 && trouble.anywhere == 0 && !trouble.bad_config {
            return if lic_shared::rcm_log_provided(m) {
                Outcome::Pass
            } else {
                Outcome::Undecided(vec![format!(
                    "{}: a 60-minute rhythm without licensing evidence is not attributed to licensing",
                    lic_shared::rcm_log_missing()
                )])
            };
        }
        let (version, mode_words) = match enforcement_applies(m, trouble.mode_code) {
            Ok(Some(applies)) => applies,
            Ok(None) => return Outcome::Pass,
            Err(undecided) => return undecided,
        };
        let (lines, mut evidence) = describe_patterns(m, &kept);
        let mode = m.setting(LICENSING_MODE);
        let mut explanation = format!(
            "{}. This host runs {version} with {mode_words}{}, a combination with soft licensing enforcement: without a licence the user gets the message \"your session will be disconnected in 60 minutes\" and is disconnected after an hour, then can reconnect.",
            lines.join("; "),
            mode.and_then(|s| s.source)
                .map(|k| format!(" (from {})", source_words(k)))
                .unwrap_or_default()
        );
        if let Some(s) = mode {
            evidence.extend(setting_evidence(s));
        }
        if trouble.in_period == 0 && trouble.anywhere > 0 {
            explanation.push_str(&format!(
                " Licensing events elsewhere in the logs: {} (RemoteConnectionManager/license server).",
                trouble.anywhere
            ));
        }
        if trouble.bad_config {
            explanation.push_str(" The licensing configuration itself is incomplete (mode or license server missing).");
        }
        let limit = m
            .setting(MAX_CONNECTION_TIME)
            .map(|s| s.display.clone())
            .unwrap_or_else(|| "unknown".into());
        explanation.push_str(&format!(
            " Ruled out: a session time limit of about an hour (MaxConnectionTime: {limit}; no time-limit reason or event on these disconnects), user and administrator disconnects."
        ));
        if !ruled_out.is_empty() {
            explanation.push_str(&format!(" Not counted: {}.", ruled_out.join("; ")));
        }
        Outcome::Found(vec![META.finding(
            Confidence::Likely,
            explanation,
            evidence,
        )])
    }
}

/// A configured connection or idle time limit of about an hour, which explains the rhythm.
fn time_limit_of_an_hour(m: &Model<'_>) -> bool {
    let opts = &m.timeline.options;
    let window = |ms: u64| {
        let d = SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
        d >= opts.hourly_min && d <= opts.hourly_max
    };
    [MAX_CONNECTION_TIME, MAX_IDLE_TIME]
        .into_iter()
        .any(|name| {
            m.setting(name).is_some_and(|s| {
                s.decided_value()
                    .and_then(|v| v.as_u64())
                    .is_some_and(window)
            })
        })
}

/// A pattern with the intervals that count for it.
type Kept<'m> = Vec<(&'m Pattern, Vec<&'m IntervalCite>)>;

/// The patterns with enough intervals not explained by a user, administrator, reconnect or
/// time-limit disconnect, and the intervals ruled out (`S3 ended by …`).
fn unexplained_intervals<'m>(m: &Model<'_>, patterns: &[&'m Pattern]) -> (Kept<'m>, Vec<String>) {
    let repeats = m.timeline.options.hourly_repeats.max(1);
    let mut kept = Vec::new();
    let mut ruled_out = Vec::new();
    for p in patterns {
        let mut mine = Vec::new();
        for c in &p.intervals {
            match look_alike(m, c) {
                Some(why) => ruled_out.push(format!("{} ended by {why}", c.session)),
                None => mine.push(c),
            }
        }
        if mine.len() >= repeats {
            kept.push((*p, mine));
        }
    }
    (kept, ruled_out)
}

/// Licensing trouble beside the rhythm.
struct Trouble {
    /// Licensing events in the patterns' periods.
    in_period: usize,
    /// Licensing events anywhere in the logs.
    anywhere: usize,
    /// The decided licensing mode code.
    mode_code: Option<u64>,
    /// A licensing configuration that cannot work (no usable mode, or no license server).
    bad_config: bool,
}

fn licensing_trouble(m: &Model<'_>, kept: &Kept<'_>) -> Trouble {
    let mode = m.setting(LICENSING_MODE);
    let mode_code = mode
        .and_then(|s| s.decided_value())
        .and_then(|v| v.as_u64());
    let no_servers = m
        .setting(LICENSE_SERVERS)
        .and_then(|s| s.decided_value())
        .and_then(|v| v.as_list())
        .is_some_and(|l| l.is_empty());
    Trouble {
        in_period: kept.iter().map(|(p, _)| p.supporting_events).sum(),
        anywhere: lic_shared::events(m, META.id, Strength::Suggests).len(),
        mode_code,
        bad_config: mode.is_some_and(|s| !s.is_unknown())
            && !matches!(mode_code, Some(1) | Some(PER_DEVICE) | Some(PER_USER))
            || no_servers,
    }
}

/// Whether this Windows version has soft enforcement for the licensing mode: `Some((version,
/// mode words))` when it has, `None` when it has not, `Err(undecided)` when the version is
/// unknown.
fn enforcement_applies(
    m: &Model<'_>,
    mode_code: Option<u64>,
) -> Result<Option<(String, &'static str)>, Outcome> {
    let v = &m.facts.windows_version;
    let (Some(dev), Some(usr)) = (v.soft_enforcement_per_device, v.soft_enforcement_per_user)
    else {
        let why = v
            .unknown_because
            .clone()
            .or_else(|| {
                v.name
                    .clone()
                    .map(|n| format!("{n} is not a known server build"))
            })
            .unwrap_or_else(|| "not recorded".into());
        return Err(Outcome::Undecided(vec![format!(
            "Windows version unknown ({why}): soft enforcement exists only on {}",
            versions_with_soft_enforcement()
        )]));
    };
    let (applies, mode_words) = match mode_code {
        Some(PER_DEVICE) => (dev, "Per Device"),
        Some(PER_USER) => (usr, "Per User"),
        _ => (dev || usr, "no usable licensing mode"),
    };
    let version = v.name.clone().unwrap_or_else(|| "this version".into());
    Ok(applies.then_some((version, mode_words)))
}

/// One line per pattern (user, intervals, licensing events in the period) and its cited events.
fn describe_patterns(m: &Model<'_>, kept: &Kept<'_>) -> (Vec<String>, Vec<Evidence>) {
    let mut lines = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    for (p, cites) in kept {
        let user = p.user.clone().unwrap_or_else(|| "(unknown user)".into());
        let mut spans: Vec<String> = cites
            .iter()
            .take(MAX_LISTED)
            .map(|c| {
                format!(
                    "{} {} for {} min{}",
                    c.session,
                    when(c.start),
                    c.seconds / 60,
                    c.reason_code
                        .map(|r| format!(", reason {r}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        if cites.len() > MAX_LISTED {
            spans.push(format!("and {} more", cites.len() - MAX_LISTED));
        }
        let mut line = format!(
            "{user} was disconnected after about 60 minutes {} times ({})",
            cites.len(),
            spans.join("; ")
        );
        if !p.counts.is_empty() {
            let counts: Vec<String> = p.counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            line.push_str(&format!(
                " with licensing events in that period: {}",
                counts.join(", ")
            ));
        }
        lines.push(line);
        for r in p.evidence.iter().take(MAX_EVIDENCE) {
            evidence.push(timeline_evidence(
                m,
                r,
                &format!("60-minute pattern of {user}"),
            ));
        }
    }
    (lines, evidence)
}
