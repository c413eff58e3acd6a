//! The session chart: one SVG, one lane per session (logon → disconnects → reconnects →
//! logoff) on one time axis, disconnects coloured by their chart class, licensing and service
//! events and clock changes as markers on a lane of their own, hour lines so a 60-minute rhythm
//! shows at a glance, and a `<title>` on everything naming the event and its record.
//!
//! Size stays bounded whatever the evidence holds (docs/html-report.md "Aggregation"): up to
//! [`MAX_LANES`] sessions get a lane each; beyond that each user gets a lane (the users with the
//! most sessions first, the rest share the last lane); points of one kind that fall on the same
//! pixel column of a lane are drawn once, their title giving the count and the first records.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use super::{escape, filter_text, offset_seconds, when, OutputTz};
use crate::report::{DisconnectClass, MarkerKind, RecordRef, SessionReport, TimelineReport};
use crate::timeline::provider_short;

/// Sessions drawn one lane each; above this, one lane per user.
pub const MAX_LANES: usize = 150;

const W: f64 = 1200.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 16.0;
const PW: f64 = W - LEFT - RIGHT;
const AXIS_H: f64 = 24.0;
const MARK_H: f64 = 22.0;
const LANE_H: f64 = 22.0;
/// Titles a merged point lists before "… and n more".
const TITLE_LINES: usize = 4;

/// The search box and the class switches (shown only when the script runs).
pub(super) fn filter_controls(out: &mut String, scope: &str) {
    let _ = write!(
        out,
        "<div class=\"filter hidden\" data-scope=\"{scope}\"><label>Filter sessions <input type=\"search\" placeholder=\"user, address, session, reason\"></label> "
    );
    for c in DisconnectClass::ALL {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" value=\"{0}\" checked> {0}</label> ",
            c.name()
        );
    }
    out.push_str("</div>\n");
}

fn legend(out: &mut String) {
    out.push_str("<div class=\"legend\" aria-label=\"legend\"><b>Disconnects:</b>");
    for c in DisconnectClass::ALL {
        let _ = write!(
            out,
            "<span><span class=\"sw\" style=\"background:var(--c-{0})\"></span>{0}</span>",
            c.name()
        );
    }
    out.push_str("<b>Lanes:</b><span>▶ logon</span><span>▷ reconnect</span><span>■ logoff</span><span>bar: connected (minutes)</span><span>grey line: disconnected</span>");
    out.push_str("<b>Markers:</b><span><span class=\"sw\" style=\"background:var(--c-licensing)\"></span>licensing event</span><span><span class=\"sw\" style=\"background:var(--c-service)\"></span>service</span><span><span class=\"sw\" style=\"background:var(--c-clock)\"></span>clock change</span></div>\n");
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PointKind {
    Logon,
    Reconnect,
    Logoff,
    Disconnect(DisconnectClass),
}

struct Point {
    t: Timestamp,
    kind: PointKind,
    title: String,
}

struct Lane {
    id: String,
    label: String,
    title: String,
    filter: String,
    /// Connected spans (start, end, whether the start was seen).
    bars: Vec<(Timestamp, Timestamp, bool)>,
    /// Session spans, logon (or first event) to logoff (or last event).
    spans: Vec<(Timestamp, Timestamp)>,
    points: Vec<Point>,
    /// Patterns the lane's sessions are part of.
    patterns: Vec<&'static str>,
}

fn record(r: &RecordRef) -> String {
    let file = r.file.rsplit(['/', '\\']).next().unwrap_or(&r.file);
    format!(
        "{} {} — {}#{}",
        provider_short(&r.provider),
        r.event_id,
        file,
        r.record_id
    )
}

/// The connected spans of a session: logon or reconnect up to the next disconnect or logoff.
fn bars(s: &SessionReport) -> Vec<(Timestamp, Timestamp, bool)> {
    // (time, opens)
    let mut steps: Vec<(Timestamp, bool)> = Vec::new();
    if let Some(l) = &s.logon {
        steps.push((l.time, true));
    }
    steps.extend(s.reconnects.iter().map(|r| (r.time, true)));
    steps.extend(
        s.disconnects
            .iter()
            .filter(|d| !d.after_logoff)
            .map(|d| (d.time, false)),
    );
    if let Some(l) = &s.logoff {
        steps.push((l.time, false));
    }
    steps.sort();
    let mut out = Vec::new();
    let mut open: Option<(Timestamp, bool)> = None;
    let mut first = true;
    for (t, opens) in steps {
        match (opens, open) {
            (true, None) => open = Some((t, true)),
            (false, Some((a, seen))) => {
                out.push((a, t, seen));
                open = None;
            }
            (false, None) if first && s.logon.is_none() => out.push((s.start, t, false)),
            _ => {}
        }
        first = false;
    }
    if let Some((a, seen)) = open {
        out.push((a, s.end, seen));
    }
    out
}

fn points(s: &SessionReport, tz: &OutputTz) -> Vec<Point> {
    let mut p = Vec::new();
    let who = s.user.as_deref().unwrap_or("unknown user");
    if let Some(l) = &s.logon {
        p.push(Point {
            t: l.time,
            kind: PointKind::Logon,
            title: format!("{} logon {who} ({}): {}", s.id, when(tz, l.time), record(l)),
        });
    }
    for r in &s.reconnects {
        p.push(Point {
            t: r.time,
            kind: PointKind::Reconnect,
            title: format!("{} reconnect ({}): {}", s.id, when(tz, r.time), record(r)),
        });
    }
    for d in &s.disconnects {
        let ev = d.evidence.first().map(record).unwrap_or_default();
        p.push(Point {
            t: d.time,
            kind: PointKind::Disconnect(d.class),
            title: format!(
                "{} disconnect ({}), {}: {}{} — {ev}",
                s.id,
                when(tz, d.time),
                d.class.name(),
                d.reason.as_deref().unwrap_or("no reason event"),
                if d.after_logoff {
                    " (logoff teardown)"
                } else {
                    ""
                }
            ),
        });
    }
    if let Some(l) = &s.logoff {
        p.push(Point {
            t: l.time,
            kind: PointKind::Logoff,
            title: format!("{} logoff ({}): {}", s.id, when(tz, l.time), record(l)),
        });
    }
    p
}

fn session_lanes(t: &TimelineReport, tz: &OutputTz) -> Vec<Lane> {
    t.sessions
        .iter()
        .map(|s| {
            let who = s.user.as_deref().unwrap_or("-");
            let short = who.rsplit('\\').next().unwrap_or(who);
            let patterns = t
                .patterns
                .iter()
                .filter(|p| p.sessions.contains(&s.id))
                .map(|p| p.kind.name())
                .collect();
            Lane {
                id: s.id.clone(),
                label: format!("{} {}", s.id, short),
                title: format!(
                    "{} (session id {}) {who}{} · {} → {} · {}",
                    s.id,
                    s.session_id,
                    s.address
                        .as_deref()
                        .map(|a| format!(" from {a}"))
                        .unwrap_or_default(),
                    when(tz, s.start),
                    when(tz, s.end),
                    super::state_name(s)
                ),
                filter: filter_text(s),
                bars: bars(s),
                spans: vec![(s.start, s.end)],
                points: points(s, tz),
                patterns,
            }
        })
        .collect()
}

/// One lane per user once there are more sessions than lanes: the users with the most sessions
/// first (then by name), the rest together in the last lane.
fn user_lanes(t: &TimelineReport, tz: &OutputTz) -> Vec<Lane> {
    let mut by_user: BTreeMap<&str, Vec<&SessionReport>> = BTreeMap::new();
    for s in &t.sessions {
        by_user
            .entry(s.user.as_deref().unwrap_or("(no user)"))
            .or_default()
            .push(s);
    }
    let mut users: Vec<(&str, Vec<&SessionReport>)> = by_user.into_iter().collect();
    users.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut groups: Vec<(String, Vec<&SessionReport>)> = Vec::new();
    for (k, (user, ss)) in users.into_iter().enumerate() {
        if k + 1 < MAX_LANES {
            groups.push((user.to_string(), ss));
        } else if k + 1 == MAX_LANES {
            groups.push(("other users".to_string(), ss));
        } else if let Some(last) = groups.last_mut() {
            last.1.extend(ss);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(k, (user, ss))| {
            let short = user.rsplit('\\').next().unwrap_or(&user).to_string();
            let mut patterns: Vec<&'static str> = t
                .patterns
                .iter()
                .filter(|p| ss.iter().any(|s| p.sessions.contains(&s.id)))
                .map(|p| p.kind.name())
                .collect();
            patterns.dedup();
            Lane {
                id: format!("U{}", k + 1),
                label: format!("{short} ({})", ss.len()),
                title: format!("{user}: {} sessions", ss.len()),
                filter: ss
                    .iter()
                    .map(|s| filter_text(s))
                    .collect::<Vec<_>>()
                    .join(" "),
                bars: ss.iter().flat_map(|s| bars(s)).collect(),
                spans: ss.iter().map(|s| (s.start, s.end)).collect(),
                points: ss.iter().flat_map(|s| points(s, tz)).collect(),
                patterns,
            }
        })
        .collect()
}

/// Seconds since the epoch, with the fraction.
fn secs(t: Timestamp) -> f64 {
    t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9
}

/// One stretch of time with events, and where it is drawn.
struct Seg {
    a: f64,
    b: f64,
    x: f64,
    w: f64,
}

/// A broken time axis: stretches with events are drawn in proportion to their length; the quiet
/// time between them (longer than [`QUIET`]) is cut out and drawn as a narrow gap, so sessions
/// days apart still show their minutes. At most [`MAX_SEGS`] stretches.
struct Axis {
    segs: Vec<Seg>,
}

/// Quiet time longer than this is cut out of the axis (grown until at most [`MAX_SEGS`] remain).
const QUIET: f64 = 3.0 * 3600.0;
const MAX_SEGS: usize = 8;
/// Width of a cut.
const GAP_W: f64 = 16.0;

impl Axis {
    fn new(mut spans: Vec<(f64, f64)>) -> Axis {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut quiet = QUIET;
        let merged = loop {
            let mut m: Vec<(f64, f64)> = Vec::new();
            for &(a, b) in &spans {
                match m.last_mut() {
                    Some(last) if a - last.1 <= quiet => last.1 = last.1.max(b),
                    _ => m.push((a, b.max(a))),
                }
            }
            if m.len() <= MAX_SEGS {
                break m;
            }
            quiet *= 2.0;
        };
        // Room around each stretch: 3 % of it, at least five minutes.
        let padded: Vec<(f64, f64)> = merged
            .iter()
            .map(|&(a, b)| {
                let pad = ((b - a) * 0.03).max(300.0);
                (a - pad, b + pad)
            })
            .collect();
        let n = padded.len().max(1) as f64;
        let total: f64 = padded.iter().map(|(a, b)| b - a).sum::<f64>().max(1.0);
        let avail = PW - (n - 1.0) * GAP_W;
        let min_w = (avail / n).min(40.0);
        let mut x = LEFT;
        let segs = padded
            .iter()
            .map(|&(a, b)| {
                let w = min_w + (avail - n * min_w) * (b - a) / total;
                let seg = Seg { a, b, x, w };
                x += w + GAP_W;
                seg
            })
            .collect();
        Axis { segs }
    }

    fn x(&self, t: Timestamp) -> f64 {
        let t = secs(t);
        for (i, s) in self.segs.iter().enumerate() {
            if t <= s.b {
                if t >= s.a {
                    return s.x + (t - s.a) / (s.b - s.a).max(1e-9) * s.w;
                }
                // In the cut before this stretch.
                let Some(prev) = i.checked_sub(1).and_then(|p| self.segs.get(p)) else {
                    return s.x;
                };
                let f = (t - prev.b) / (s.a - prev.b).max(1e-9);
                return prev.x + prev.w + f * GAP_W;
            }
        }
        self.segs.last().map_or(LEFT, |s| s.x + s.w)
    }
}

const STEPS: [i64; 17] = [
    60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    1_209_600, 2_592_000, 7_776_000, 31_536_000,
];

/// Draw the chart (legend, then the SVG, then how it was aggregated).
pub(super) fn render(out: &mut String, t: &TimelineReport, id: &str, tz: &OutputTz) {
    if t.sessions.is_empty() && t.markers.is_empty() {
        out.push_str("<p>No sessions were rebuilt from the evidence.</p>\n");
        return;
    }
    let per_user = t.sessions.len() > MAX_LANES;
    let lanes = if per_user {
        user_lanes(t, tz)
    } else {
        session_lanes(t, tz)
    };
    let spans: Vec<(f64, f64)> = t
        .sessions
        .iter()
        .map(|s| (secs(s.start), secs(s.end)))
        .chain(t.markers.iter().map(|m| (secs(m.time), secs(m.time))))
        .collect();
    let axis = Axis::new(spans);
    let height = AXIS_H + MARK_H + lanes.len() as f64 * LANE_H + 6.0;
    legend(out);
    let _ = writeln!(
        out,
        "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}-chart\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"session timeline: {} lanes\" data-lanes=\"{}\">",
        lanes.len(),
        if per_user { "user" } else { "session" }
    );
    let _ = writeln!(
        out,
        "<style>.k-licensing{{fill:var(--c-licensing)}}.k-time-limit{{fill:var(--c-time-limit)}}.k-user{{fill:var(--c-user)}}.k-network{{fill:var(--c-network)}}.k-admin{{fill:var(--c-admin)}}.k-other{{fill:var(--c-other)}}.k-service{{fill:var(--c-service)}}.k-clock-change{{fill:var(--c-clock)}}.grid{{stroke:#e3e6ea;stroke-width:1}}.grid.major{{stroke:#c3c8ce}}.bar{{fill:#8fc1e3}}.bar.unseen{{fill:#c9dff0}}.span{{stroke:#9aa3ad;stroke-width:1.5}}.pt-logon{{fill:#1a7f37}}.pt-reconnect{{fill:#fff;stroke:#1a7f37;stroke-width:1.5}}.pt-logoff{{fill:#24292f}}.band{{fill:#f3f5f7}}.band.pattern{{fill:#fff4d6}}.mline{{stroke:var(--c-licensing);stroke-opacity:.25;stroke-dasharray:2 3}}</style>"
    );
    grid(out, &axis, tz, height);
    markers(out, t, &axis, tz, height);
    for (k, lane) in lanes.iter().enumerate() {
        draw_lane(out, lane, k, &axis, id);
    }
    out.push_str("</svg></div>\n");
    let how = if per_user {
        format!(
            "{} sessions are more than {MAX_LANES} lanes can show one by one: each lane is a user (the users with the most sessions first; the last lane holds the rest), with every session of the user drawn on it.",
            t.sessions.len()
        )
    } else {
        format!("One lane per session ({}).", t.sessions.len())
    };
    let _ = writeln!(
        out,
        "<p class=\"muted\">{how} Points of one kind that fall on the same pixel column are drawn once; their title gives the count. Highlighted lanes belong to a pattern. Hover a lane or a point for its event and record.</p>"
    );
}

fn grid(out: &mut String, axis: &Axis, tz: &OutputTz, height: f64) {
    for (i, seg) in axis.segs.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).and_then(|p| axis.segs.get(p)) {
            let x = prev.x + prev.w;
            let quiet = (seg.a - prev.b).max(0.0) as i64;
            let _ = writeln!(
                out,
                "<g class=\"cut\"><rect x=\"{:.1}\" y=\"{AXIS_H}\" width=\"{GAP_W}\" height=\"{:.1}\" fill=\"#eceff2\"/><text x=\"{:.1}\" y=\"15\" font-size=\"11\" text-anchor=\"middle\" fill=\"#8c959f\">⋯</text><title>cut: {} without events</title></g>",
                x,
                height - AXIS_H,
                x + GAP_W / 2.0,
                escape(&quiet_text(quiet))
            );
        }
        seg_grid(out, axis, seg, tz, height);
    }
    let _ = writeln!(
        out,
        "<text x=\"6\" y=\"15\" font-size=\"11\" fill=\"#57606a\">{}</text>",
        escape(tz.label())
    );
}

fn quiet_text(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else {
        format!("{h}h {m}m")
    }
}

/// Tick lines and labels of one stretch: labels at a step that leaves room for them, and hour
/// lines while they stay apart.
fn seg_grid(out: &mut String, axis: &Axis, seg: &Seg, tz: &OutputTz, height: f64) {
    let span = (seg.b - seg.a).max(1.0);
    let room = (seg.w / 90.0).max(1.0);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / *s as f64 <= room)
        .unwrap_or(31_536_000);
    let off = offset_seconds(tz, Timestamp::from_second(seg.a as i64).unwrap_or_default());
    let hour_px = seg.w / (span / 3600.0);
    let fine = if step > 3600 && hour_px >= 6.0 {
        3600
    } else {
        step
    };
    let mut at = ((seg.a as i64 + off).div_euclid(fine) + 1) * fine - off;
    let mut guard = 0;
    let mut labelled = false;
    while (at as f64) < seg.b && guard < 2000 {
        guard += 1;
        let Ok(ts) = Timestamp::from_second(at) else {
            break;
        };
        let x = axis.x(ts);
        let major = (at + off).rem_euclid(step) == 0;
        let _ = writeln!(
            out,
            "<line class=\"grid{}\" x1=\"{x:.1}\" y1=\"{AXIS_H}\" x2=\"{x:.1}\" y2=\"{height:.1}\"/>",
            if major { " major" } else { "" }
        );
        if major && x > seg.x + 4.0 && x < seg.x + seg.w - 28.0 {
            // The first label of a stretch names the date.
            let label = tick_label(tz, ts, step, labelled);
            labelled = true;
            let _ = writeln!(
                out,
                "<text x=\"{x:.1}\" y=\"15\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
                escape(&label)
            );
        }
        at += fine;
    }
}

fn tick_label(tz: &OutputTz, t: Timestamp, step: i64, short: bool) -> String {
    let full = tz.format(t);
    let (Some(date), Some(md), Some(hm)) = (full.get(..10), full.get(5..10), full.get(11..16))
    else {
        return full;
    };
    if step >= 86_400 {
        date.to_string()
    } else if short && hm != "00:00" {
        hm.to_string()
    } else {
        format!("{md} {hm}")
    }
}

/// Merge points of one kind on one pixel column: (x, kind) → titles.
fn binned<'a, I>(items: I, axis: &Axis) -> BTreeMap<(i64, String), (f64, Vec<&'a str>)>
where
    I: Iterator<Item = (Timestamp, String, &'a str)>,
{
    let mut bins: BTreeMap<(i64, String), (f64, Vec<&'a str>)> = BTreeMap::new();
    for (t, kind, title) in items {
        let x = axis.x(t);
        let e = bins
            .entry((x.round() as i64, kind))
            .or_insert((x, Vec::new()));
        e.1.push(title);
    }
    bins
}

fn merged_title(titles: &[&str]) -> String {
    let mut s = if titles.len() > 1 {
        format!("{} events here:\n", titles.len())
    } else {
        String::new()
    };
    s.push_str(
        &titles
            .iter()
            .take(TITLE_LINES)
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
    );
    if titles.len() > TITLE_LINES {
        let _ = write!(s, "\n… and {} more", titles.len() - TITLE_LINES);
    }
    s
}

fn marker_kind(k: MarkerKind) -> &'static str {
    match k {
        MarkerKind::Licensing => "licensing",
        MarkerKind::Service => "service",
        MarkerKind::ClockChange => "clock-change",
    }
}

/// Lines through the lanes for licensing markers, while they are few enough to read.
const MARKER_LINES: usize = 120;

fn markers(out: &mut String, t: &TimelineReport, axis: &Axis, tz: &OutputTz, height: f64) {
    let y = AXIS_H + MARK_H / 2.0;
    let _ = writeln!(
        out,
        "<g class=\"markers\"><text x=\"6\" y=\"{:.1}\" font-size=\"11\" fill=\"#57606a\">licensing · service · clock ({})</text>",
        y + 4.0,
        t.markers.len()
    );
    let titles: Vec<String> = t
        .markers
        .iter()
        .map(|m| {
            format!(
                "{} ({}): {} — {}",
                marker_kind(m.kind),
                when(tz, m.time),
                m.what,
                record(&m.evidence)
            )
        })
        .collect();
    let bins = binned(
        t.markers
            .iter()
            .zip(&titles)
            .map(|(m, s)| (m.time, marker_kind(m.kind).to_string(), s.as_str())),
        axis,
    );
    let lines = t.markers.len() <= MARKER_LINES;
    for ((_, kind), (x, ts)) in &bins {
        if lines && kind != "service" {
            let _ = writeln!(
                out,
                "<line class=\"mline\" x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\"/>"
            );
        }
        let _ = writeln!(
            out,
            "<path class=\"marker k-{kind}\" data-marker=\"{kind}\" d=\"M{:.1},{:.1} l5,8 l-10,0 z\"><title>{}</title></path>",
            x,
            y - 5.0,
            escape(&merged_title(ts))
        );
    }
    out.push_str("</g>\n");
}

fn draw_lane(out: &mut String, lane: &Lane, k: usize, axis: &Axis, prefix: &str) {
    let top = AXIS_H + MARK_H + k as f64 * LANE_H;
    let mid = top + LANE_H / 2.0;
    let mut title = lane.title.clone();
    if !lane.patterns.is_empty() {
        let _ = write!(title, " · pattern: {}", lane.patterns.join(", "));
    }
    let _ = writeln!(
        out,
        "<g class=\"lane\" id=\"{prefix}-lane-{}\" data-lane=\"{}\" data-filter=\"{}\"><title>{}</title>",
        escape(&lane.id),
        escape(&lane.id),
        escape(&lane.filter),
        escape(&title)
    );
    let band = if !lane.patterns.is_empty() {
        Some("band pattern")
    } else if k % 2 == 1 {
        Some("band")
    } else {
        None
    };
    if let Some(class) = band {
        let _ = writeln!(
            out,
            "<rect class=\"{class}\" x=\"0\" y=\"{top:.1}\" width=\"{W}\" height=\"{LANE_H}\" fill-opacity=\"0.7\"/>"
        );
    }
    let label: String = lane.label.chars().take(26).collect();
    let _ = writeln!(
        out,
        "<text x=\"6\" y=\"{:.1}\" font-size=\"12\" fill=\"#1b1f24\">{}</text>",
        mid + 4.0,
        escape(&label)
    );
    for (a, b) in &lane.spans {
        let _ = writeln!(
            out,
            "<line class=\"span\" x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\"/>",
            axis.x(*a),
            axis.x(*b).max(axis.x(*a) + 1.0)
        );
    }
    // Bars: merged per pixel span when many overlap (per-user lanes).
    for (a, b, seen) in &lane.bars {
        let (xa, xb) = (axis.x(*a), axis.x(*b));
        let w = (xb - xa).max(1.5);
        let minutes = (secs(*b) - secs(*a)) / 60.0;
        let _ = write!(
            out,
            "<rect class=\"bar{}\" x=\"{xa:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"10\"><title>connected {:.0} min{}</title></rect>",
            if *seen { "" } else { " unseen" },
            mid - 5.0,
            minutes,
            if *seen { "" } else { " (logon not seen)" }
        );
        if w >= 34.0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#0b3d5c\">{}</text>",
                xa + w / 2.0,
                mid + 3.0,
                duration_label(minutes)
            );
        }
        out.push('\n');
    }
    let bins = binned(
        lane.points
            .iter()
            .map(|p| (p.t, point_key(p.kind), p.title.as_str())),
        axis,
    );
    for ((_, key), (x, titles)) in &bins {
        let title = escape(&merged_title(titles));
        let (x, y) = (*x, mid);
        match key.as_str() {
            "logon" => {
                let _ = writeln!(
                    out,
                    "<path class=\"pt-logon\" d=\"M{:.1},{:.1} l8,6 l-8,6 z\"><title>{title}</title></path>",
                    x,
                    y - 6.0
                );
            }
            "reconnect" => {
                let _ = writeln!(
                    out,
                    "<path class=\"pt-reconnect\" d=\"M{:.1},{:.1} l7,5 l-7,5 z\"><title>{title}</title></path>",
                    x,
                    y - 5.0
                );
            }
            "logoff" => {
                let _ = writeln!(
                    out,
                    "<rect class=\"pt-logoff\" x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\"><title>{title}</title></rect>",
                    x - 3.5,
                    y - 3.5
                );
            }
            class => {
                let _ = writeln!(
                    out,
                    "<circle class=\"dc k-{class}\" data-class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" stroke=\"#fff\" stroke-width=\"1\"><title>{title}</title></circle>"
                );
            }
        }
    }
    out.push_str("</g>\n");
}

fn point_key(k: PointKind) -> String {
    match k {
        PointKind::Logon => "logon".into(),
        PointKind::Reconnect => "reconnect".into(),
        PointKind::Logoff => "logoff".into(),
        PointKind::Disconnect(c) => c.name().into(),
    }
}

fn duration_label(minutes: f64) -> String {
    if minutes >= 2880.0 {
        format!("{:.0}d", minutes / 1440.0)
    } else if minutes >= 180.0 {
        format!("{:.0}h", minutes / 60.0)
    } else {
        format!("{minutes:.0}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn quiet_days_are_cut_out_of_the_axis() {
        let day1 = (
            secs(ts("2024-03-04T08:00:00Z")),
            secs(ts("2024-03-04T10:00:00Z")),
        );
        let day3 = (
            secs(ts("2024-03-06T08:00:00Z")),
            secs(ts("2024-03-06T10:00:00Z")),
        );
        let axis = Axis::new(vec![day3, day1]);
        assert_eq!(axis.segs.len(), 2, "two stretches, one cut");
        // The two stretches are as long, so they get the same width.
        assert!((axis.segs[0].w - axis.segs[1].w).abs() < 1e-6);
        // Monotonic, within the plot, the cut narrow.
        let times = [
            "2024-03-04T07:00:00Z",
            "2024-03-04T08:00:00Z",
            "2024-03-04T09:00:00Z",
            "2024-03-05T12:00:00Z",
            "2024-03-06T08:00:00Z",
            "2024-03-06T11:00:00Z",
        ];
        let xs: Vec<f64> = times.iter().map(|t| axis.x(ts(t))).collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
        assert!(
            xs.iter().all(|x| (LEFT..=LEFT + PW + 0.01).contains(x)),
            "{xs:?}"
        );
        let hour = axis.x(ts("2024-03-04T09:00:00Z")) - axis.x(ts("2024-03-04T08:00:00Z"));
        assert!(
            hour > 100.0,
            "an hour is wide when two short stretches share the plot: {hour}"
        );
        let cut = axis.x(ts("2024-03-06T08:00:00Z")) - axis.x(ts("2024-03-04T10:00:00Z"));
        assert!(
            cut < hour,
            "two quiet days take less room than an hour: {cut}"
        );
    }

    #[test]
    fn stretches_stay_few() {
        // A session every 4 hours for a month: merged until at most MAX_SEGS stretches remain.
        let start = secs(ts("2024-03-01T00:00:00Z"));
        let spans: Vec<(f64, f64)> = (0..180)
            .map(|k| {
                let a = start + f64::from(k) * 4.0 * 3600.0;
                (a, a + 600.0)
            })
            .collect();
        let axis = Axis::new(spans);
        assert!(!axis.segs.is_empty() && axis.segs.len() <= MAX_SEGS);
    }

    #[test]
    fn connected_bars_follow_logon_disconnect_reconnect_logoff() {
        use crate::report::{DisconnectReport, RecordRef, SessionReport};
        use crate::timeline::{Initiator, SessionState};
        let r = |t: &str| RecordRef {
            time: ts(t),
            file: "lsm.evtx".into(),
            record_id: 1,
            provider: "Microsoft-Windows-TerminalServices-LocalSessionManager".into(),
            event_id: 21,
        };
        let d = |t: &str| DisconnectReport {
            time: ts(t),
            reason_code: Some(0),
            reason: None,
            reason_class: None,
            class: DisconnectClass::Other,
            licensing_reason: false,
            initiator: Initiator::Unknown,
            after_logoff: false,
            evidence: vec![],
        };
        let s = SessionReport {
            id: "S1".into(),
            session_id: 2,
            user: None,
            address: None,
            addresses: vec![],
            start: ts("2024-03-04T08:00:00Z"),
            end: ts("2024-03-04T10:05:00Z"),
            state: SessionState::LoggedOff,
            duration_seconds: None,
            connected_seconds: 0,
            logon: Some(r("2024-03-04T08:00:00Z")),
            logoff: Some(r("2024-03-04T10:05:00Z")),
            reconnects: vec![r("2024-03-04T09:05:00Z")],
            disconnects: vec![d("2024-03-04T09:00:00Z"), d("2024-03-04T10:04:00Z")],
            flags: vec![],
            events: 6,
        };
        let b = bars(&s);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].0, b[0].1),
            (ts("2024-03-04T08:00:00Z"), ts("2024-03-04T09:00:00Z"))
        );
        assert_eq!(
            (b[1].0, b[1].1),
            (ts("2024-03-04T09:05:00Z"), ts("2024-03-04T10:04:00Z"))
        );
        assert!(b.iter().all(|x| x.2), "the starts were seen");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration_label(60.2), "60m");
        assert_eq!(duration_label(300.0), "5h");
        assert_eq!(duration_label(4320.0), "3d");
    }
}
