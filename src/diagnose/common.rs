//! Helpers shared by rules: evidence from settings and events, role gates. Rules stay short by
//! using these; nothing here decides a diagnosis.

use crate::config::{Setting, SettingState};
use crate::eventlog::Event;
use crate::host::facts::{RoleKind, Tri};

use super::{Evidence, Model};

impl Model<'_> {
    /// Whether the host has `role`: yes, no, or not decidable.
    pub fn role(&self, role: RoleKind) -> Tri {
        self.facts.role(role).map_or(Tri::Unknown, |r| r.detected)
    }

    /// A setting by catalogue name.
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.get(name)
    }

    /// The host's own events, in time order: events whose `Computer` is another machine (not
    /// the host nor an earlier name of it) never count toward this host's findings. The timeline
    /// decided it once per record (`Timeline::foreign_inputs`).
    pub fn own_events(&self) -> impl DoubleEndedIterator<Item = &Event> + '_ {
        let foreign = &self.timeline.foreign_inputs;
        self.events
            .iter()
            .enumerate()
            .filter(move |(i, _)| !foreign.get(*i).copied().unwrap_or(false))
            .map(|(_, e)| e)
    }

    /// The sessions of the host itself (sessions of other computers whose records share the
    /// capture are left out).
    pub fn own_sessions(&self) -> impl Iterator<Item = &crate::timeline::Session> + '_ {
        let t = self.timeline;
        t.sessions.iter().filter(move |s| s.is_own(&t.events))
    }

    /// The host's own events of `provider` with canonical id in `ids`, in time order.
    pub fn events_of<'m>(
        &'m self,
        provider: &'m str,
        ids: &'m [u16],
    ) -> impl Iterator<Item = &'m Event> + 'm {
        self.own_events()
            .filter(move |e| e.provider.eq_ignore_ascii_case(provider) && ids.contains(&e.event_id))
    }

    /// Whether any EVTX input of the capture holds records of `channel` (so "no such event" is
    /// meaningful).
    pub fn has_channel(&self, channel: &str) -> bool {
        self.inputs.iter().any(|i| {
            i.evtx
                .as_ref()
                .is_some_and(|e| e.channels.keys().any(|c| c.eq_ignore_ascii_case(channel)))
        })
    }
}

/// Evidence for a setting's winning value (one entry per provenance; a default has none).
pub fn setting_evidence(s: &Setting) -> Vec<Evidence> {
    let fact = format!("{} = {}", s.name, s.value_display);
    if s.provenance.is_empty() {
        return vec![Evidence::Registry {
            fact: format!("{fact} ({})", state_words(s.state)),
            provenance: None,
        }];
    }
    s.provenance
        .iter()
        .map(|p| Evidence::Registry {
            fact: fact.clone(),
            provenance: Some(p.clone()),
        })
        .collect()
}

/// Which GPO to change for a setting whose machine-policy value Group Policy evidence attributes
/// (`config::gpo`), as a sentence to append to an explanation (starting with a space), and the
/// Registry.pol instruction as evidence. `None` when the setting carries no attribution.
pub fn gpo_words(s: &Setting) -> Option<(String, Vec<Evidence>)> {
    use crate::config::gpo::{AttributionStatus, GpoOp};
    use crate::evidence::HiveKind;
    use crate::registry::{RegProvenance, SourceForm};
    let a = s.gpo.as_ref()?;
    let evidence = |v: &crate::config::gpo::GpoValue| Evidence::Registry {
        fact: format!(
            "{} = {} in the Registry.pol of GPO {}",
            s.name,
            v.display,
            v.gpo.describe()
        ),
        provenance: Some(RegProvenance {
            file: v.file.clone(),
            form: SourceForm::PolicyFile,
            hive: HiveKind::Software,
            key: a.key.trim_start_matches("SOFTWARE\\").to_string(),
            value: a.value_name.clone(),
            value_type: format!("(instruction at offset {})", v.offset),
        }),
    };
    let losers = |a: &crate::config::gpo::GpoAttribution| -> String {
        if a.shadowed.is_empty() {
            String::new()
        } else {
            format!(
                "; it wins over {}",
                a.shadowed
                    .iter()
                    .map(|l| format!("{} ({})", l.gpo.label(), l.display))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    match (a.status, &a.winner) {
        (AttributionStatus::Attributed | AttributionStatus::FromReport, Some(w))
            if w.op != GpoOp::Delete =>
        {
            Some((
                format!(
                    " To change {}, edit the GPO {} (the last applied GPO that sets it{}).",
                    s.name,
                    w.gpo.describe(),
                    losers(a)
                ),
                (a.status == AttributionStatus::Attributed)
                    .then(|| evidence(w))
                    .into_iter()
                    .collect(),
            ))
        }
        (AttributionStatus::Partial, Some(w)) if w.op != GpoOp::Delete => Some((
            format!(
                " Among the Registry.pol files provided, the GPO {} sets {}{}, but a GPO applied after it ({}) may override it: its Registry.pol is missing.",
                w.gpo.describe(),
                s.name,
                losers(a),
                a.missing
                    .iter()
                    .filter(|m| m.after_winner)
                    .map(|m| m.gpo.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            vec![evidence(w)],
        )),
        (AttributionStatus::PolFilesNotProvided, _) => Some((
            format!(
                " Group Policy sets {}: the GPOs applied with registry policy are {}; their Registry.pol files were not provided, so which one to change is not known (add C:\\ProgramData\\Microsoft\\Group Policy\\History or a SYSVOL copy to the bundle).",
                s.name,
                a.missing
                    .iter()
                    .map(|m| m.gpo.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Vec::new(),
        )),
        _ => None,
    }
}

fn state_words(state: SettingState) -> &'static str {
    match state {
        SettingState::Set => "set",
        SettingState::NotSet => "not set anywhere: built-in default",
        SettingState::Unknown => "unknown",
    }
}

/// Evidence for one event, with our wording of what it says.
pub fn event_evidence(e: &Event, fact: impl Into<String>) -> Evidence {
    Evidence::Event {
        time: e.time.to_string(),
        file: e.file.clone(),
        record_id: e.record_id,
        provider: e.provider.clone(),
        event_id: e.event_id,
        fact: fact.into(),
    }
}

/// Evidence for an event the timeline cites, with our wording of what it shows.
pub fn ref_evidence(r: &crate::timeline::EventRef, fact: impl Into<String>) -> Evidence {
    Evidence::Event {
        time: r.time.to_string(),
        file: r.file.clone(),
        record_id: r.record_id,
        provider: r.provider.clone(),
        event_id: r.event_id,
        fact: fact.into(),
    }
}

/// What is missing when a setting is unknown, in words ("SOFTWARE hive not provided: …").
pub fn unknown_words(s: &Setting) -> Vec<String> {
    s.decisive_unknowns()
        .map(|u| format!("{}: {}", s.name, u.detail))
        .collect()
}
