//! Which GPO set each RDS policy setting, and which GPOs it beat, from the gpresult output a
//! capture holds (`gpresult /x`, `/z`, `/h`; read by [`crate::gpresult`]). The reader only says
//! what each report lists; this ties the entries to the catalogued settings: Administrative
//! Templates policies by their display name (`catalog/gp_policies.tsv`), registry entries by the
//! policy location of `setting_sources.tsv`. Precedence is the report's own (RSoP precedence 1 is
//! the winner, S112); only the XML form shows the GPOs a winner beat.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::catalog::gpresult::{policy_named, GpresultForm};
use crate::catalog::settings::{catalog, Role, SourceKind};
use crate::evidence::HiveKind;
use crate::gpresult::{Entry, Gpo, Item, Report, Scope, Som};

use super::model::{SettingValue, Settings};

/// A GPO as a setting's chain names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpresultGpo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Where it is linked (SOM path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Version in Active Directory / SYSVOL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforced: Option<bool>,
    /// RSoP precedence (1 won).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedence: Option<u32>,
    /// What this GPO sets, as the report shows it (`Enabled: Per Device`, `4`).
    pub value: String,
}

/// One RDS setting as one gpresult file attributes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChain {
    /// A setting of `settings.tsv`.
    pub setting: String,
    pub scope: Scope,
    /// The Administrative Templates policy, when the report names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The gpresult file.
    pub file: String,
    pub form: GpresultForm,
    /// The GPO whose value applies; `None` when the form does not say (several GPOs in a text
    /// report, which shows no precedence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<GpresultGpo>,
    /// The GPOs that set it too and lost, highest precedence first (XML form only).
    pub beaten: Vec<GpresultGpo>,
    /// GPOs that set it where the form shows no precedence (text form with several GPOs) and
    /// the machine's own policy value does not tell which won.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unordered: Vec<GpresultGpo>,
    /// The winner was inferred: the report shows no precedence, and exactly one GPO's value is
    /// the value the machine's computer policy key holds (the Registry extension writes the
    /// winning value there).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// Whether the machine's computer policy key holds the winner's value (computer scope, when
    /// the report shows the value as data and the SOFTWARE evidence decides): `false` means the
    /// report and the hives disagree (one is older than the other).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_registry: Option<bool>,
}

/// One gpresult file read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpresultFile {
    pub file: String,
    pub form: GpresultForm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A GPO of a report's list, with the file it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedGpo {
    pub file: String,
    #[serde(flatten)]
    pub gpo: Gpo,
}

/// What the capture's gpresult output says about Group Policy. Absent from a report when the
/// capture holds no gpresult output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpresultSummary {
    pub files: Vec<GpresultFile>,
    /// Every GPO each report lists, applied first, in application order.
    pub gpos: Vec<ListedGpo>,
    /// The scopes of management searched (XML form), with block inheritance.
    pub soms: Vec<Som>,
    /// Per RDS setting and scope: the winning GPO and the ones it beat.
    pub settings: Vec<SettingChain>,
    /// Terminal Services policies the reports name that no setting of the catalogue maps
    /// (another report language, or a policy rdsdiag does not resolve).
    pub unmapped: Vec<String>,
}

impl GpresultSummary {
    /// The chains of a setting, XML form first.
    pub fn chains<'a>(&'a self, setting: &'a str) -> impl Iterator<Item = &'a SettingChain> {
        self.settings.iter().filter(move |c| c.setting == setting)
    }
}

/// Most unmapped policy names listed.
const MAX_UNMAPPED: usize = 200;

/// Lower-case, `\`-trimmed, without a root (`HKLM\`, `HKEY_CURRENT_USER\`) or leading `Software\`.
fn norm_key(key: &str) -> String {
    let mut k = key.trim().trim_matches('\\').to_ascii_lowercase();
    for root in [
        "hkey_local_machine\\",
        "hkey_current_user\\",
        "hklm\\",
        "hkcu\\",
        "machine\\",
        "user\\",
    ] {
        if let Some(rest) = k.strip_prefix(root) {
            k = rest.to_string();
        }
    }
    match k.strip_prefix("software\\") {
        Some(rest) => rest.to_string(),
        None => k,
    }
}

/// The setting a registry entry sets: the policy location (SOFTWARE for computer, NTUSER for user
/// policy) of `setting_sources.tsv` with this key and value name.
fn setting_for_registry(scope: Option<Scope>, key: &str, value: &str) -> Option<String> {
    let key = norm_key(key);
    let hive = match scope {
        Some(Scope::User) => HiveKind::NtUser,
        _ => HiveKind::Software,
    };
    catalog()
        .settings
        .iter()
        .find(|def| {
            def.sources.iter().any(|row| {
                row.source == SourceKind::Policy
                    && row.hive == Some(hive)
                    && (row.role == Role::Candidate || hive == HiveKind::NtUser)
                    && norm_key(&row.path) == key
                    && row
                        .value
                        .as_deref()
                        .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
        })
        .map(|def| def.name.clone())
}

/// The setting and policy name of an entry, or the unmapped Terminal Services policy name.
fn classify(e: &Entry) -> Result<(String, Option<String>), Option<String>> {
    match &e.item {
        Item::Policy { name, category, .. } => match policy_named(name) {
            Some(p) => Ok((p.setting.clone(), Some(name.clone()))),
            None => {
                let ts = category.as_deref().is_some_and(|c| {
                    c.to_ascii_lowercase().contains("remote desktop")
                        || c.to_ascii_lowercase().contains("terminal serv")
                });
                Err(ts.then(|| name.clone()))
            }
        },
        Item::Registry { key, value, .. } => {
            let v = value.as_deref().unwrap_or_default();
            match setting_for_registry(e.scope, key, v) {
                Some(s) => Ok((s, None)),
                None => {
                    let ts = norm_key(key).ends_with("windows nt\\terminal services");
                    Err((ts && !v.is_empty()).then(|| format!("{key}\\{v}")))
                }
            }
        }
    }
}

fn shown_value(item: &Item) -> String {
    match item {
        Item::Policy { state, options, .. } => {
            let opts: Vec<String> = options
                .iter()
                .map(|(n, v)| {
                    if n.is_empty() {
                        v.clone()
                    } else {
                        format!("{}: {v}", n.trim_end_matches(':'))
                    }
                })
                .collect();
            if opts.is_empty() {
                state.clone()
            } else {
                format!("{state} ({})", opts.join("; "))
            }
        }
        Item::Registry { data, state, .. } => match (data, state) {
            (Some(d), _) => d.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        },
    }
}

/// A report's GPOs by (scope, GUID) and (scope, name), upper-cased, so naming the GPO of each
/// entry stays linear in the report.
struct GpoIndex<'r> {
    by_guid: HashMap<(Option<Scope>, String), &'r Gpo>,
    /// `None` for a name that stands for several GPOs.
    by_name: HashMap<(Option<Scope>, String), Option<&'r Gpo>>,
}

impl<'r> GpoIndex<'r> {
    fn new(report: &'r Report) -> Self {
        let mut by_guid = HashMap::new();
        let mut by_name = HashMap::new();
        for g in &report.gpos {
            if let Some(guid) = &g.guid {
                by_guid
                    .entry((g.scope, guid.to_ascii_uppercase()))
                    .or_insert(g);
                by_guid
                    .entry((None, guid.to_ascii_uppercase()))
                    .or_insert(g);
            }
            // Two GPOs may share a display name (Active Directory allows it): a name that
            // stands for GPOs with different GUIDs names none of them.
            for key in [
                (g.scope, g.name.to_ascii_uppercase()),
                (None, g.name.to_ascii_uppercase()),
            ] {
                by_name
                    .entry(key)
                    .and_modify(|e: &mut Option<&'r Gpo>| {
                        if e.is_some_and(|prev| prev.guid != g.guid) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(g));
            }
        }
        GpoIndex { by_guid, by_name }
    }

    fn find(
        &self,
        scope: Option<Scope>,
        guid: Option<&str>,
        name: Option<&str>,
    ) -> Option<&'r Gpo> {
        let look = |map: &HashMap<(Option<Scope>, String), &'r Gpo>, key: &str| {
            let key = key.to_ascii_uppercase();
            map.get(&(scope, key.clone()))
                .or_else(|| map.get(&(None, key)))
                .copied()
        };
        match (guid, name) {
            (Some(g), _) => look(&self.by_guid, g),
            (None, Some(n)) => {
                let key = n.to_ascii_uppercase();
                match self.by_name.get(&(scope, key.clone())) {
                    Some(found) => *found,
                    None => self.by_name.get(&(None, key)).copied().flatten(),
                }
            }
            _ => None,
        }
    }
}

fn gpo_ref(index: &GpoIndex<'_>, e: &Entry) -> GpresultGpo {
    let listed = index.find(e.scope, e.gpo_guid.as_deref(), e.gpo_name.as_deref());
    let version = listed.and_then(|g| match (g.version_directory, g.version_sysvol) {
        (Some(d), Some(s)) if d == s => Some(d.to_string()),
        (Some(d), Some(s)) => Some(format!("AD {d}, SYSVOL {s}")),
        (Some(d), None) => Some(d.to_string()),
        (None, Some(s)) => Some(s.to_string()),
        _ => None,
    });
    GpresultGpo {
        name: listed
            .map(|g| g.name.clone())
            .or_else(|| e.gpo_name.clone())
            .or_else(|| e.gpo_guid.clone())
            .unwrap_or_else(|| "(not named)".into()),
        guid: listed
            .and_then(|g| g.guid.clone())
            .or_else(|| e.gpo_guid.clone()),
        link: listed.and_then(|g| g.link.clone()),
        version,
        enforced: listed.and_then(|g| g.enforced),
        precedence: e.precedence,
        value: shown_value(&e.item),
    }
}

/// Whether a value as a report shows it is the machine's effective computer-policy value of
/// `setting`: a number is decoded exactly as the registry value would be (inverted flags such as
/// `fDisableAutoReconnect` included) and compared decoded; `None` when the two cannot be compared
/// (a keep-alive, whose interval is another value; a value that is not a number).
fn is_effective(setting: &str, shown: &str, value: &SettingValue) -> Option<bool> {
    let shown = shown.trim();
    match value {
        SettingValue::ServerList(list) => {
            let items: Vec<String> = shown
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            Some(
                items
                    == list
                        .iter()
                        .map(|s| s.to_ascii_lowercase())
                        .collect::<Vec<_>>(),
            )
        }
        SettingValue::Thumbprint(t) => Some(shown.eq_ignore_ascii_case(t)),
        SettingValue::KeepAlive { .. } => None,
        other => super::gpo::reported_value(catalog(), setting, shown).map(|v| v == *other),
    }
}

/// Whether the machine's computer policy key holds `shown` for `setting`: `None` when the
/// configuration is not known (no SOFTWARE evidence, or not resolved).
fn registry_agrees(settings: Option<&Settings>, setting: &str, shown: &str) -> Option<bool> {
    let s = settings?.get(setting)?;
    if s.unknown.iter().any(|u| u.source == SourceKind::Policy) {
        return None;
    }
    Some(match (&s.source, &s.value) {
        (Some(SourceKind::Policy), Some(v)) => return is_effective(setting, shown, v),
        _ => false,
    })
}

/// Read the gpresult reports of a capture into the per-setting chains. `settings` (the resolved
/// configuration) lets a report without precedence name its winner when exactly one GPO's value
/// is the one the machine's computer policy key holds. `None` when there is no report (the
/// capture holds no gpresult output).
pub fn from_reports(reports: &[Report], settings: Option<&Settings>) -> Option<GpresultSummary> {
    if reports.is_empty() {
        return None;
    }
    let mut unmapped: HashSet<String> = HashSet::new();
    let mut ordered: Vec<&Report> = reports.iter().collect();
    ordered.sort_by(|a, b| (a.form, &a.file).cmp(&(b.form, &b.file)));
    let mut out = GpresultSummary {
        files: Vec::new(),
        gpos: Vec::new(),
        soms: Vec::new(),
        settings: Vec::new(),
        unmapped: Vec::new(),
    };
    for r in ordered {
        out.files.push(GpresultFile {
            file: r.file.clone(),
            form: r.form,
            computer: r.computer.clone(),
            user: r.user.clone(),
        });
        let mut gpos: Vec<&Gpo> = r.gpos.iter().collect();
        // Applied first, in application order (AppliedOrder where the form gives it, else the
        // report's own order), then the ones that did not apply.
        gpos.sort_by_key(|g| (g.scope, !g.applied, g.applied_order.unwrap_or(u32::MAX)));
        out.gpos.extend(gpos.into_iter().map(|g| ListedGpo {
            file: r.file.clone(),
            gpo: g.clone(),
        }));
        out.soms.extend(r.soms.iter().cloned());

        let index = GpoIndex::new(r);
        // Group the entries by (scope, setting), in the report's order.
        let mut groups: Vec<(Scope, String, Option<String>, Vec<&Entry>)> = Vec::new();
        for e in &r.entries {
            match classify(e) {
                Ok((setting, policy)) => {
                    let scope = e.scope.unwrap_or(Scope::Computer);
                    match groups
                        .iter_mut()
                        .find(|(s, n, _, _)| *s == scope && *n == setting)
                    {
                        Some((_, _, p, list)) => {
                            if p.is_none() {
                                *p = policy;
                            }
                            list.push(e);
                        }
                        None => groups.push((scope, setting, policy, vec![e])),
                    }
                }
                Err(Some(name)) => {
                    if out.unmapped.len() < MAX_UNMAPPED && unmapped.insert(name.clone()) {
                        out.unmapped.push(name);
                    }
                }
                Err(None) => {}
            }
        }
        for (scope, setting, policy, mut list) in groups {
            // The same GPO can appear twice for one setting (its policy and the registry value it
            // writes): keep one entry per GPO, the policy first.
            let mut seen: HashSet<String> = HashSet::new();
            list.retain(|e| {
                let id = e
                    .gpo_guid
                    .clone()
                    .or_else(|| e.gpo_name.clone())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let key = format!("{id}/{}", e.precedence.unwrap_or(0));
                seen.insert(key)
            });
            let mut chain = SettingChain {
                setting,
                scope,
                policy,
                file: r.file.clone(),
                form: r.form,
                winner: None,
                beaten: Vec::new(),
                unordered: Vec::new(),
                inferred: false,
                matches_registry: None,
            };
            if list.iter().all(|e| e.precedence.is_some()) {
                list.sort_by_key(|e| e.precedence.unwrap_or(u32::MAX));
                let mut refs = list.iter().map(|e| gpo_ref(&index, e));
                chain.winner = refs.next();
                chain.beaten = refs.collect();
            } else if list.len() == 1 || r.form == GpresultForm::Html {
                // The HTML report lists only the winning GPO of each setting.
                chain.winner = list.first().map(|e| gpo_ref(&index, e));
            } else {
                let refs: Vec<GpresultGpo> = list.iter().map(|e| gpo_ref(&index, e)).collect();
                // The machine's own computer-policy value names the winner when exactly one
                // GPO set that value.
                let effective = settings
                    .and_then(|s| s.get(&chain.setting))
                    .filter(|s| {
                        scope == Scope::Computer
                            && s.source == Some(SourceKind::Policy)
                            && s.state == super::model::SettingState::Set
                    })
                    .and_then(|s| s.value.as_ref());
                let winners: Vec<usize> = effective
                    .map(|v| {
                        refs.iter()
                            .enumerate()
                            .filter(|(_, g)| {
                                is_effective(&chain.setting, &g.value, v) == Some(true)
                            })
                            .map(|(i, _)| i)
                            .collect()
                    })
                    .unwrap_or_default();
                if let [w] = winners[..] {
                    let mut refs = refs;
                    chain.winner = Some(refs.remove(w));
                    chain.beaten = refs;
                    chain.inferred = true;
                } else {
                    chain.unordered = refs;
                }
            }
            if scope == Scope::Computer && !chain.inferred {
                chain.matches_registry = match (&chain.winner, list.first().map(|e| &e.item)) {
                    (Some(w), Some(Item::Registry { .. })) => {
                        registry_agrees(settings, &chain.setting, &w.value)
                    }
                    _ => None,
                };
            }
            out.settings.push(chain);
        }
    }
    // Catalogue order, then scope (computer first), then file order.
    let order = |name: &str| {
        catalog()
            .settings
            .iter()
            .position(|d| d.name == name)
            .unwrap_or(usize::MAX)
    };
    out.settings
        .sort_by_key(|c| (order(&c.setting), c.scope, c.form, c.file.clone()));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_without_roots() {
        assert_eq!(
            norm_key(r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"),
            norm_key(r"Policies\Microsoft\Windows NT\Terminal Services")
        );
        assert_eq!(
            setting_for_registry(
                Some(Scope::Computer),
                r"HKLM\Software\Policies\Microsoft\Windows NT\Terminal Services",
                "licensingmode"
            )
            .as_deref(),
            Some("licensing_mode")
        );
        assert_eq!(
            setting_for_registry(
                Some(Scope::User),
                r"Software\Policies\Microsoft\Windows NT\Terminal Services",
                "MaxIdleTime"
            )
            .as_deref(),
            Some("max_idle_time")
        );
        assert_eq!(
            setting_for_registry(Some(Scope::Computer), r"Software\Other", "MaxIdleTime"),
            None
        );
    }

    #[test]
    fn no_report_no_block() {
        assert!(from_reports(&[], None).is_none());
        assert_eq!(
            is_effective(
                "license_servers",
                "ls1, LS2",
                &SettingValue::ServerList(vec!["ls1".into(), "ls2".into()])
            ),
            Some(true)
        );
        assert_eq!(
            is_effective(
                "max_idle_time",
                "900000",
                &SettingValue::DurationMs(900_000)
            ),
            Some(true)
        );
        assert_eq!(
            is_effective("max_idle_time", "x", &SettingValue::DurationMs(1)),
            None
        );
        // fDisableAutoReconnect is inverted: 0 is "reconnect on" (Flag(true)), 1 is off.
        assert_eq!(
            is_effective("auto_reconnect", "0", &SettingValue::Flag(true)),
            Some(true)
        );
        assert_eq!(
            is_effective("auto_reconnect", "1", &SettingValue::Flag(true)),
            Some(false)
        );
    }
}
