//! Host facts as readable text: one `label: value` line each, shared by `config` and `analyze`.

use std::fmt::Write as _;

use crate::host::facts::{HostFacts, MembershipKind, Presence, Tri};
use crate::host::{Fact, HostIdentity, NameRelation, NameSource};

fn presence_text(p: &Presence) -> String {
    match (&p.present, &p.unknown_because) {
        (Tri::Unknown, Some(w)) => format!("unknown ({w})"),
        (t, _) => t.name().to_string(),
    }
}

fn fact_text<T: std::fmt::Display>(f: &Fact<T>) -> String {
    match f {
        Fact::NotProvided { hive } => format!("unknown ({hive} hive not provided)"),
        other => other.display(),
    }
}

/// The facts as readable text (one `label: value` line each).
pub fn render_text(facts: &HostFacts) -> String {
    let mut out = String::new();
    let v = &facts.windows_version;
    let version = match (&v.name, &v.unknown_because) {
        (Some(n), _) => n.clone(),
        (None, Some(w)) => format!("unknown ({w})"),
        (None, None) => "unknown".into(),
    };
    let _ = writeln!(out, "Windows version:          {version}");
    if let (Some(d), Some(u)) = (v.soft_enforcement_per_device, v.soft_enforcement_per_user) {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "Soft enforcement:         per device {}, per user {}",
            yn(d),
            yn(u)
        );
    }
    let m = &facts.membership;
    let membership = match (m.kind, &m.domain) {
        (MembershipKind::Domain, Some(d)) => format!("domain {d} (heuristic)"),
        (MembershipKind::Domain, None) => "domain (heuristic)".into(),
        (MembershipKind::Workgroup, _) => "workgroup (heuristic)".into(),
        (MembershipKind::Unknown, _) => format!("unknown ({})", m.unknown_because.join("; ")),
    };
    let _ = writeln!(out, "Membership:               {membership}");
    for r in &facts.roles {
        let how = match (r.detected, r.confirmed) {
            (Tri::Yes, true) => "yes (confirmed)".to_string(),
            (Tri::Yes, false) => "yes (unconfirmed signal)".to_string(),
            (Tri::Unknown, _) => format!("unknown ({})", r.unknown_because.join("; ")),
            (Tri::No, _) => "no".to_string(),
        };
        let signals = r
            .signals
            .iter()
            .map(|s| s.signal.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            out,
            "Role {:<20} {how}{}",
            format!("{}:", r.role.name()),
            if signals.is_empty() {
                String::new()
            } else {
                format!(" — {signals}")
            }
        );
    }
    let s = &facts.licensing_service;
    let start = match (&s.start_type_name, &s.start_type) {
        (Some(n), _) => n.clone(),
        (None, f) => fact_text(f),
    };
    let service = match s.installed.present {
        Tri::Yes => format!("installed, start {start}"),
        Tri::No => "not installed".to_string(),
        Tri::Unknown => presence_text(&s.installed),
    };
    let _ = writeln!(out, "Licensing service:        {service}");
    let _ = writeln!(
        out,
        "Grace-period timebomb:    {}",
        presence_text(&facts.grace_period_timebomb.present)
    );
    let x = &facts.x509_certificates;
    let present: Vec<&str> = x
        .values
        .iter()
        .filter(|v| v.presence.present == Tri::Yes)
        .map(|v| v.name)
        .collect();
    let _ = writeln!(
        out,
        "LS certificate obtained:  {}{}",
        match x.obtained_from_license_server {
            Tri::Unknown => x
                .values
                .iter()
                .find_map(|v| v.presence.unknown_because.clone())
                .map(|w| format!("unknown ({w})"))
                .unwrap_or_else(|| "unknown".into()),
            t => t.name().to_string(),
        },
        if present.is_empty() {
            String::new()
        } else {
            format!(" ({})", present.join(", "))
        }
    );
    let ms = &facts.mslicensing;
    let _ = writeln!(
        out,
        "MSLicensing store:        {}{}",
        presence_text(&ms.present),
        ms.stored_licenses
            .map(|n| format!(", {n} stored license(s)"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "License DB path:          {}",
        fact_text(&facts.license_db_path)
    );
    let w = &facts.workgroup_auth_override;
    let _ = writeln!(
        out,
        "Workgroup auth disabled:  {} (DisableWorkgroupAuthEnforcement: {})",
        w.enforcement_disabled.name(),
        fact_text(&w.value)
    );
    let g = &facts.policy_gpos;
    let gpos = match (g.history.present, g.gpos.is_empty()) {
        (Tri::Yes, false) => g
            .gpos
            .iter()
            .map(|x| {
                format!(
                    "{} ({})",
                    x.display_name.as_deref().unwrap_or("?"),
                    if x.domain { "domain" } else { "local" }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Tri::Yes, true) | (Tri::No, _) => "none recorded".into(),
        (Tri::Unknown, _) => presence_text(&g.history),
    };
    let _ = writeln!(out, "Registry policy GPOs:     {gpos}");
    let listeners = match &facts.listeners {
        Fact::Found { value, .. } if value.is_empty() => "none".to_string(),
        Fact::Found { value, .. } => value.join(", "),
        Fact::NotProvided { hive } => format!("unknown ({hive} hive not provided)"),
        Fact::Absent => "absent".into(),
        Fact::Unreadable(u) => format!("unreadable ({})", u.reason),
    };
    let _ = writeln!(out, "Listeners (WinStations):  {listeners}");
    out.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

/// The host's name for people: the SYSTEM hive's, else the event records' most frequent name
/// (saying so), with any conflict between the two.
pub fn computer_name(h: &HostIdentity) -> String {
    match h.name() {
        Some((name, NameSource::Registry)) => match h.name_conflict() {
            Some(conflict) => format!("{name} (conflict: {conflict})"),
            None => name.to_string(),
        },
        Some((name, NameSource::EventLogs)) => format!(
            "{name} (from the event records' Computer field; registry: {})",
            h.computer_name.display()
        ),
        None => h.computer_name.display(),
    }
}

/// The host's clock changes as the analyze report's timeline holds them (one line each), for
/// the host section: the facts come through the report, the host layer knows no timeline.
pub fn clock_change_lines(c: &crate::report::CaptureReport) -> Vec<String> {
    c.timeline
        .iter()
        .flat_map(|t| &t.clock_changes)
        .map(|ch| ch.describe())
        .collect()
}

/// When the event records name more than one computer: each name with its records and when it
/// was first and last seen, most frequent first.
pub fn names_in_logs(h: &HostIdentity) -> Option<String> {
    (h.names_in_logs.len() > 1).then(|| {
        h.names_in_logs
            .iter()
            .map(|n| {
                let relation = match n.relation {
                    NameRelation::Host => "this host",
                    NameRelation::EarlierName => "earlier name",
                    NameRelation::OtherComputer => "another computer",
                };
                let records = if n.events == 1 { "record" } else { "records" };
                format!(
                    "{} ({relation}; {} {records}, {} to {})",
                    n.name, n.events, n.first_seen, n.last_seen
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}
