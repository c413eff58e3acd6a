//! Group Policy attribution: which Group Policy Object wrote each machine-policy value of the
//! effective configuration, and which earlier GPOs set it too and lost.
//!
//! The evidence, all optional and kept apart as "found", "absent", "unreadable" and "not
//! provided":
//! - the applied GPOs in application order, from the SOFTWARE hive (the Registry extension's
//!   history, else the machine's GP state list; `catalog/group_policy.tsv`), or from another
//!   source that fills [`GroupPolicy::lists`] (a gpresult report);
//! - each GPO's `Registry.pol` where the bundle holds it (local GPO, cached copies, SYSVOL
//!   copies), and its `GPT.INI` (version);
//! - settings a report already attributes ([`GroupPolicy::reported`], e.g. gpresult), used when
//!   the pol files are missing.
//!
//! The rule (S101, S102): GPOs apply in order — local first, then site, domain and OUs from
//! parent to child — and a later GPO overwrites what an earlier one wrote, so the last GPO whose
//! `Registry.pol` sets the value wins; the earlier ones that set it lost. Enforced links and
//! blocked inheritance change which GPOs are in the list and their order, which the recorded
//! list already reflects; rdsdiag does not re-run that.

use serde::Serialize;

use crate::catalog::group_policy::{self, ArtifactKind, Scope};
use crate::catalog::settings::{
    Role, SettingDef, SettingsCatalog, SourceDef, SourceKind, ValueFormat,
};
use crate::evidence::HiveKind;
use crate::registry::pol::{Effect, GpContent, GpFile, PolicyFile};
use crate::registry::{Lookup, RegData, RegProvenance, RegValue, SourceForm};

use super::gpresult::{GpresultGpo, GpresultSummary};
use super::model::{SettingValue, Settings};
use super::source::RegistrySource;

/// Where a list of applied GPOs was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrigin {
    /// `…\Group Policy\History\{35378EAC-…}` (the Registry extension's GPOs).
    RegistryHistory,
    /// `…\Group Policy\State\Machine\GPO-List`.
    StateGpoList,
    /// A gpresult report (`/h`, `/x`, `/z`), filled by its parser.
    Gpresult,
}

/// Whether a list of applied GPOs is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ListState {
    /// Read: `gpos` holds it (possibly empty).
    Found,
    /// The hive (or report) is there but holds no such list.
    Absent,
    /// The hive holds the place but it could not be read.
    Unreadable { detail: String },
    /// The SOFTWARE hive (or the report) was not provided.
    NotProvided { detail: String },
}

/// One applied GPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedGpo {
    /// Position in application order (0 = applied first, so it loses to every later GPO).
    pub order: usize,
    pub display_name: Option<String>,
    /// `GPOName`: the GPO's braced GUID (upper case), or what the list holds for the local GPO.
    pub guid: Option<String>,
    /// The local GPO (`DSPath` `LocalGPO`, or `Link` `Local`; S43, S103).
    pub local: bool,
    /// The site, domain or OU the GPO is linked to (`Link`; `Local` for the local GPO).
    pub link: Option<String>,
    pub ds_path: Option<String>,
    pub file_sys_path: Option<String>,
    /// `Version` as recorded when it was applied.
    pub version: Option<u32>,
    /// `GPT.INI` `Version` of a copy of the GPO in the bundle, when there is one.
    pub gpt_ini_version: Option<u32>,
    /// Link option "do not override" (enforced, `GPO_FLAG_FORCE` in `Options`, S103), when the
    /// source records it.
    pub enforced: Option<bool>,
    /// Where it was read (`None` for GPOs a report lists).
    pub provenance: Option<RegProvenance>,
}

impl AppliedGpo {
    /// `'Name' {GUID}` for messages.
    pub fn label(&self) -> String {
        let name = self.display_name.as_deref().unwrap_or("(no display name)");
        match (&self.guid, self.local) {
            (_, true) => format!("'{name}' (local GPO)"),
            (Some(g), false) => format!("'{name}' {g}"),
            (None, false) => format!("'{name}'"),
        }
    }
}

/// A list of applied GPOs for one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpoList {
    pub scope: Scope,
    /// Whose list for user scope (a SID or user name); `None` for the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Where the list was (or would have been) read.
    pub origin: ListOrigin,
    #[serde(flatten)]
    pub state: ListState,
    /// In application order.
    pub gpos: Vec<AppliedGpo>,
}

/// A Group Policy file of the capture as the attribution used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpFileInfo {
    pub path: String,
    /// The `group_policy.tsv` artifact its path matched (`local_gpo`, `history_cache`,
    /// `datastore_cache`, `gpo_folder`, `gpt_ini`), or `null`.
    #[serde(rename = "where")]
    pub artifact: Option<&'static str>,
    pub guid: Option<String>,
    pub scope: Option<Scope>,
    /// `parsed`, `partial` (damage after some instructions) or `rejected`.
    pub status: &'static str,
    /// Instructions read (pol files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<usize>,
    /// `GPT.INI` version (gpt.ini files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A setting a report (gpresult) attributes directly: the winning GPO and the GPOs it beat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedSetting {
    pub scope: Scope,
    /// Registry key below HKLM/HKCU (`Software\Policies\…`).
    pub key: String,
    pub value_name: String,
    pub winner: GpoRef,
    /// The value as the report shows it.
    pub display: String,
    /// GPOs that also set it and lost, in the report's order.
    pub shadowed: Vec<GpoRef>,
    /// The report file.
    pub file: String,
    /// What the winner does: `delete` for a policy the report shows as Disabled (gpedit writes
    /// `**del.`, S105), else `set`.
    pub op: GpoOp,
    /// Whether the machine's policy key holds the winner's value (`false`: the report is older
    /// or newer than the hives), when the report shows the value as registry data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_registry: Option<bool>,
}

/// All the Group Policy evidence of a capture.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GroupPolicy {
    /// Applied-GPO lists (machine from the SOFTWARE hive; more from reports and user hives).
    pub lists: Vec<GpoList>,
    /// The Group Policy files of the capture.
    pub files: Vec<GpFileInfo>,
    /// Settings a report attributes directly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reported: Vec<ReportedSetting>,
    pub refs: Vec<String>,
    /// Parsed pol files (not serialised: `files` lists them).
    #[serde(skip)]
    pol: Vec<(GpFile, usize)>,
}

/// A GPO as named in an attribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpoRef {
    pub display_name: Option<String>,
    pub guid: Option<String>,
    pub local: bool,
    pub link: Option<String>,
    pub version: Option<u32>,
    /// Position in application order, when known.
    pub order: Option<usize>,
    /// The link is enforced (No Override), when a source shows it (gpresult).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforced: Option<bool>,
}

impl GpoRef {
    fn of(g: &AppliedGpo) -> Self {
        GpoRef {
            display_name: g.display_name.clone(),
            guid: g.guid.clone(),
            local: g.local,
            link: g.link.clone(),
            version: g.version.or(g.gpt_ini_version),
            order: Some(g.order),
            enforced: g.enforced,
        }
    }

    /// A GPO as a gpresult report names it (its version only when the report gives one
    /// number).
    fn of_report(g: &GpresultGpo) -> Self {
        let local = is_local_gpo(g.guid.as_deref(), g.link.as_deref());
        GpoRef {
            display_name: Some(g.name.clone()),
            guid: g.guid.clone().filter(|_| !local),
            local,
            link: g.link.clone(),
            version: g.version.as_deref().and_then(|v| v.parse().ok()),
            order: None,
            enforced: g.enforced,
        }
    }

    /// `'Name'` (or the GUID) for sentences.
    pub fn label(&self) -> String {
        match (&self.display_name, &self.guid, self.local) {
            (Some(n), _, _) => format!("'{n}'"),
            (None, _, true) => "the local GPO".into(),
            (None, Some(g), false) => g.clone(),
            (None, None, false) => "an unnamed GPO".into(),
        }
    }

    /// `'Name' {GUID}, linked to <link>, version N` for output.
    pub fn describe(&self) -> String {
        let mut s = self.label();
        if let (Some(g), Some(_)) = (&self.guid, &self.display_name) {
            if !self.local {
                s.push_str(&format!(" {g}"));
            }
        }
        if self.local {
            s.push_str(" (local GPO)");
        } else if let Some(l) = &self.link {
            s.push_str(&format!(", linked to {}", l.trim_start_matches("LDAP://")));
        }
        if let Some(v) = self.version {
            s.push_str(&format!(", version {}", split_version(v)));
        }
        if self.enforced == Some(true) {
            s.push_str(", enforced");
        }
        s
    }
}

/// A GPO version as people read it: the upper 16 bits count user-policy changes and the lower
/// 16 bits computer-policy changes (S100), so `65539` is "65539 (computer 3, user 1)".
pub fn split_version(v: u32) -> String {
    if v > 0xFFFF {
        format!("{v} (computer {}, user {})", v & 0xFFFF, v >> 16)
    } else {
        v.to_string()
    }
}

/// Whether a GPO a report names is the local GPO (`LocalGPO` as its identifier, or linked to
/// `Local`).
fn is_local_gpo(guid: Option<&str>, link: Option<&str>) -> bool {
    guid.is_some_and(|g| g.eq_ignore_ascii_case("LocalGPO"))
        || link.is_some_and(|l| l.eq_ignore_ascii_case("Local"))
}

/// What one GPO's file does to the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpoOp {
    Set,
    /// `**soft.`: set only if absent.
    SoftSet,
    /// `**del.`, `**delvals.`, `**DeleteValues`, `**DeleteKeys`.
    Delete,
}

/// A GPO's instruction for a setting's policy value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpoValue {
    pub gpo: GpoRef,
    pub op: GpoOp,
    /// Decoded for the setting (`null` for deletions or data of the wrong type).
    pub value: Option<SettingValue>,
    pub display: String,
    /// The pol file and the instruction's byte offset in it.
    pub file: String,
    pub offset: u64,
}

/// How far the evidence attributes a setting's policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionStatus {
    /// Every applied GPO's Registry.pol was read: `winner` and `shadowed` are complete.
    Attributed,
    /// The winner is the last GPO that sets it among the files read, but the file of a GPO
    /// applied after it is not provided or unreadable: a later GPO may win (`missing`).
    Partial,
    /// The applied GPOs are known but none of their Registry.pol files is in the bundle.
    PolFilesNotProvided,
    /// A report (gpresult) names the winner (`winner`, `shadowed` from it).
    FromReport,
    /// A report names a winner, but the value it shows is not the one the hives hold: the
    /// report is older or newer than the hives, so which GPO set the value the machine holds is
    /// not known (`winner` is the report's, for reference; no GPO is named to change).
    ReportDisagrees,
    /// No list of applied GPOs is in the evidence (SOFTWARE hive not provided, unreadable, or
    /// without Group Policy history): which GPO applied, and in which order, is not known.
    GpoListUnknown,
}

/// A GPO whose Registry.pol could not be consulted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingGpo {
    pub gpo: GpoRef,
    /// `not_provided` or `unreadable`.
    pub reason: &'static str,
    /// Whether it was applied after the winner (then it could override it).
    pub after_winner: bool,
}

/// The Group Policy attribution of one setting's machine-policy value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpoAttribution {
    pub status: AttributionStatus,
    /// `SOFTWARE\<key>\<value>` attributed.
    pub key: String,
    pub value_name: String,
    /// The GPO whose instruction decides the value (the last that sets or deletes it).
    pub winner: Option<GpoValue>,
    /// Earlier GPOs that also set it and lost, last applied first.
    pub shadowed: Vec<GpoValue>,
    /// Applied GPOs whose Registry.pol was not provided or unreadable.
    pub missing: Vec<MissingGpo>,
    /// Files that set it whose GPO is not in the applied list (or when no list is known).
    pub unplaced: Vec<GpoValue>,
    /// The explanation, one step per line, in application order.
    pub chain: Vec<String>,
    pub notes: Vec<String>,
    pub refs: Vec<String>,
}

impl GpoAttribution {
    /// The GPO to change to change the effective value, when the evidence names it.
    pub fn gpo_to_change(&self) -> Option<&GpoRef> {
        match self.status {
            AttributionStatus::Attributed | AttributionStatus::FromReport => {
                self.winner.as_ref().map(|w| &w.gpo)
            }
            _ => None,
        }
    }
}

fn string(d: &RegData) -> Option<String> {
    match d {
        RegData::MultiSz(items) => items.first().cloned(),
        other => other.as_str().map(|s| s.trim_end_matches('\0').to_string()),
    }
}

/// Read one GPO list of the SOFTWARE hive (a `gpo_list` artifact row).
fn read_list<S: RegistrySource + ?Sized>(
    src: &S,
    row: &group_policy::Artifact,
    origin: ListOrigin,
) -> GpoList {
    let mut list = GpoList {
        scope: row.scope.unwrap_or(Scope::Machine),
        user: None,
        origin,
        state: ListState::Found,
        gpos: Vec::new(),
    };
    let Some(names) = &row.values else {
        list.state = ListState::Absent;
        return list;
    };
    let key = match src.key(HiveKind::Software, &row.path) {
        Lookup::Found(k) => k,
        Lookup::Absent => {
            list.state = ListState::Absent;
            return list;
        }
        Lookup::Unreadable(u) => {
            list.state = ListState::Unreadable {
                detail: format!("{} unreadable in {}: {}", row.path, u.file, u.reason),
            };
            return list;
        }
        Lookup::NotProvided { hive } => {
            list.state = ListState::NotProvided {
                detail: if src.provides(hive) {
                    format!("the {hive} evidence provided does not include {}", row.path)
                } else {
                    format!("{hive} hive not provided")
                },
            };
            return list;
        }
    };
    // Numbered subkeys in numeric order (0 is applied first; S43). Anything else under the key
    // is not an entry of the list: placed after the numbered ones it would look applied last,
    // the place that wins.
    let mut subkeys: Vec<String> = key
        .subkeys
        .iter()
        .filter(|n| !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()))
        .cloned()
        .collect();
    subkeys.sort_by_key(|n| (n.parse::<u64>().unwrap_or(u64::MAX), n.clone()));
    for sub in subkeys {
        let path = format!(r"{}\{sub}", row.path);
        let provenance = match src.key(HiveKind::Software, &path) {
            Lookup::Found(k) => k.key_provenance(),
            _ => continue,
        };
        let get = |name: &str| {
            src.value(HiveKind::Software, &path, name)
                .into_found()
                .and_then(|v| string(&v.data))
                .filter(|s| !s.is_empty())
        };
        let num = |name: &str| {
            src.value(HiveKind::Software, &path, name)
                .into_found()
                .and_then(|v| v.data.as_u64())
        };
        let ds_path = get(&names.ds_path);
        let link = get(&names.link);
        let local = ds_path
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case("LocalGPO"))
            || link
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case("Local"));
        let guid = get(&names.gpo_name).map(|g| {
            if group_policy::is_braced_guid(&g) {
                g.to_ascii_uppercase()
            } else {
                g
            }
        });
        list.gpos.push(AppliedGpo {
            order: list.gpos.len(),
            display_name: get(&names.display_name),
            guid,
            local,
            link,
            ds_path,
            file_sys_path: get(&names.file_sys_path),
            version: num(&names.version).and_then(|v| u32::try_from(v).ok()),
            gpt_ini_version: None,
            // GPO_FLAG_FORCE = 2 in the Options value is UNCONFIRMED; not read.
            enforced: None,
            provenance: Some(provenance),
        });
    }
    list
}

impl GroupPolicy {
    /// Read the machine's applied GPOs from `src` (the first `gpo_list` row of the table that is
    /// present; if none is, the first row's state) and take the capture's Group Policy files.
    pub fn read<S: RegistrySource + ?Sized>(src: &S, files: &[GpFile]) -> GroupPolicy {
        let mut chosen: Option<GpoList> = None;
        for row in group_policy::gpo_lists() {
            let origin = match row.name.as_str() {
                "registry_history" => ListOrigin::RegistryHistory,
                _ => ListOrigin::StateGpoList,
            };
            let list = read_list(src, row, origin);
            let found = list.state == ListState::Found && !list.gpos.is_empty();
            if found || chosen.is_none() {
                chosen = Some(list);
            }
            if found {
                break;
            }
        }
        let mut refs: Vec<String> = group_policy::gpo_lists()
            .flat_map(|r| r.src.ids())
            .map(str::to_string)
            .collect();
        refs.extend(["S40", "S41", "S101", "S102"].map(String::from));
        refs.sort();
        refs.dedup();
        let mut gp = GroupPolicy {
            lists: chosen.into_iter().collect(),
            files: Vec::new(),
            reported: Vec::new(),
            refs,
            pol: Vec::new(),
        };
        gp.add_files(files);
        gp
    }

    /// Add what the capture's gpresult output says (`None`: the capture holds none).
    ///
    /// - its machine list of applied GPOs (origin `gpresult`, in application order, with the
    ///   enforced links; only from a form that gives the order, the XML report), after the
    ///   registry's own list, so the registry's list still decides which pol files are walked
    ///   and the report's list is used when the hive has none;
    /// - `enforced` on the registry list's GPOs the report lists too;
    /// - one [`ReportedSetting`] per computer-scope setting whose winner the report names, used
    ///   when the pol files cannot decide (status `from_report`).
    ///
    /// Without gpresult output a `gpresult` list with state `not_provided` says so.
    pub fn add_gpresult(&mut self, summary: Option<&GpresultSummary>, cat: &SettingsCatalog) {
        let Some(summary) = summary else {
            self.lists.push(GpoList {
                scope: Scope::Machine,
                user: None,
                origin: ListOrigin::Gpresult,
                state: ListState::NotProvided {
                    detail:
                        "gpresult not provided (the capture holds no gpresult /h, /x or /z output)"
                            .into(),
                },
                gpos: Vec::new(),
            });
            return;
        };
        // Only a report that gives the application order (the XML form's `AppliedOrder`) makes
        // a list the attribution may walk: the HTML and text forms list GPOs in an order that
        // is not documented to be the application order.
        let mut ordered: Vec<&crate::gpresult::Gpo> = summary
            .gpos
            .iter()
            .map(|l| &l.gpo)
            .filter(|g| g.applied && g.scope != Some(crate::gpresult::Scope::User))
            .filter(|g| g.applied_order.is_some_and(|o| o > 0))
            .collect();
        ordered.sort_by_key(|g| g.applied_order);
        let mut gpos: Vec<AppliedGpo> = Vec::new();
        for g in ordered {
            let local = is_local_gpo(g.guid.as_deref(), g.link.as_deref());
            let guid = g.guid.clone().filter(|_| !local);
            let same = |a: &AppliedGpo| {
                (local && a.local)
                    || (guid.is_some() && a.guid == guid)
                    || (guid.is_none()
                        && !local
                        && a.display_name.as_deref() == Some(g.name.as_str()))
            };
            if gpos.iter().any(same) {
                continue;
            }
            gpos.push(AppliedGpo {
                order: gpos.len(),
                display_name: Some(g.name.clone()),
                guid,
                local,
                link: g.link.clone(),
                ds_path: None,
                file_sys_path: None,
                version: g.version_directory.or(g.version_sysvol),
                gpt_ini_version: None,
                enforced: g.enforced,
                provenance: None,
            });
        }
        // Enforced links, from every form that shows them.
        for list in self.lists.iter_mut().filter(|l| l.scope == Scope::Machine) {
            for a in list.gpos.iter_mut().filter(|a| a.enforced.is_none()) {
                let shown = summary.gpos.iter().map(|l| &l.gpo).find(|g| {
                    g.scope != Some(crate::gpresult::Scope::User)
                        && g.enforced.is_some()
                        && if a.local {
                            is_local_gpo(g.guid.as_deref(), g.link.as_deref())
                        } else {
                            a.guid.is_some() && g.guid == a.guid
                        }
                });
                if let Some(g) = shown {
                    a.enforced = g.enforced;
                }
            }
        }
        if !gpos.is_empty() {
            self.lists.push(GpoList {
                scope: Scope::Machine,
                user: None,
                origin: ListOrigin::Gpresult,
                state: ListState::Found,
                gpos,
            });
        }
        for chain in &summary.settings {
            if chain.scope != crate::gpresult::Scope::Computer {
                continue;
            }
            let Some(winner) = &chain.winner else {
                continue;
            };
            let Some(row) = cat.setting(&chain.setting).and_then(policy_row) else {
                continue;
            };
            let Some(value_name) = row.value.clone() else {
                continue;
            };
            let key = format!(r"Software\{}", row.path);
            let known = self.reported.iter().any(|r| {
                r.key.eq_ignore_ascii_case(&key) && r.value_name.eq_ignore_ascii_case(&value_name)
            });
            if known {
                continue;
            }
            self.reported.push(ReportedSetting {
                scope: Scope::Machine,
                key,
                value_name,
                winner: GpoRef::of_report(winner),
                display: reported_display(cat, &chain.setting, &winner.value),
                shadowed: chain.beaten.iter().map(GpoRef::of_report).collect(),
                file: chain.file.clone(),
                op: if winner.value.trim_start().starts_with("Disabled") {
                    GpoOp::Delete
                } else {
                    GpoOp::Set
                },
                matches_registry: chain.matches_registry,
            });
        }
        for id in ["S110", "S112", "S117"] {
            if !self.refs.iter().any(|r| r == id) {
                self.refs.push(id.to_string());
            }
        }
        self.refs.sort();
    }

    /// Take Group Policy files (in the order given): pol files become attributable, GPT.INI
    /// versions are set on the GPOs they name.
    pub fn add_files(&mut self, files: &[GpFile]) {
        for f in files {
            // The most direct intact copy first: a damaged copy (partial, then rejected) only
            // when no intact one is there, then the table order of the artifacts.
            let quality = match &f.content {
                GpContent::Policy(p) if p.error.is_none() => 0,
                GpContent::Policy(p) if !p.entries.is_empty() => 1,
                _ => 2,
            };
            let place = f
                .artifact
                .and_then(|a| group_policy::artifacts().iter().position(|r| r.name == a))
                .unwrap_or(9_999)
                .min(9_999);
            let rank = quality * 10_000 + place;
            let mut info = GpFileInfo {
                path: f.path.clone(),
                artifact: f.artifact,
                guid: f.guid.clone(),
                scope: f.scope,
                status: "parsed",
                instructions: None,
                version: None,
                error: None,
            };
            match &f.content {
                GpContent::Policy(p) => {
                    info.instructions = Some(p.entries.len());
                    if let Some(e) = &p.error {
                        info.status = if p.entries.is_empty() {
                            "rejected"
                        } else {
                            "partial"
                        };
                        info.error = Some(e.to_string());
                    }
                    self.pol.push((f.clone(), rank));
                }
                GpContent::GptIni(g) => {
                    info.version = g.version;
                    let is_gpt = group_policy::artifact(f.artifact.unwrap_or(""))
                        .is_some_and(|a| a.kind == ArtifactKind::GptIni);
                    if let (true, Some(guid), Some(v)) = (is_gpt, &f.guid, g.version) {
                        for list in &mut self.lists {
                            for gpo in &mut list.gpos {
                                if gpo.guid.as_deref() == Some(guid.as_str()) {
                                    gpo.gpt_ini_version = Some(v);
                                }
                            }
                        }
                    }
                }
                GpContent::Unusable(why) => {
                    info.status = "rejected";
                    info.error = Some(why.clone());
                }
            }
            self.files.push(info);
        }
        self.pol.sort_by_key(|(_, rank)| *rank);
    }

    /// Whether there is anything to say: a GPO list found, or a Group Policy file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.reported.is_empty()
            && self
                .lists
                .iter()
                .all(|l| l.state != ListState::Found || l.gpos.is_empty())
    }

    /// Why there is no gpresult list (the capture holds no gpresult output), for the one line
    /// the reports print instead of the gpresult block.
    pub fn gpresult_missing(&self) -> Option<&str> {
        self.lists.iter().find_map(|l| match (&l.origin, &l.state) {
            (ListOrigin::Gpresult, ListState::NotProvided { detail }) => Some(detail.as_str()),
            _ => None,
        })
    }

    /// The machine list of applied GPOs, when one was found.
    pub fn machine_list(&self) -> Option<&GpoList> {
        self.lists
            .iter()
            .filter(|l| l.scope == Scope::Machine && l.state == ListState::Found)
            .find(|l| !l.gpos.is_empty())
    }

    /// The machine pol file of `gpo` (the most direct copy: table order of the artifacts).
    fn pol_of(&self, gpo: &AppliedGpo) -> Option<&GpFile> {
        self.pol
            .iter()
            .map(|(f, _)| f)
            .filter(|f| f.scope == Some(Scope::Machine))
            .find(|f| {
                if gpo.local {
                    f.artifact == Some("local_gpo")
                } else {
                    f.guid.is_some() && f.guid == gpo.guid
                }
            })
    }

    /// Machine pol files whose GPO is not in `list` (all of them without a list), one (the best
    /// copy) per GPO.
    fn unplaced_pols<'a>(&'a self, list: Option<&'a GpoList>) -> impl Iterator<Item = &'a GpFile> {
        let mut seen = std::collections::HashSet::new();
        self.pol.iter().map(|(f, _)| f).filter(move |f| {
            let gpo = if f.artifact == Some("local_gpo") {
                None
            } else {
                f.guid.as_deref()
            };
            f.scope == Some(Scope::Machine)
                && (gpo.is_none() && f.artifact != Some("local_gpo") || seen.insert(gpo))
                && f.artifact.is_some()
                && !list.is_some_and(|l| {
                    l.gpos.iter().any(|g| {
                        if g.local {
                            f.artifact == Some("local_gpo")
                        } else {
                            f.guid.is_some() && f.guid == g.guid
                        }
                    })
                })
        })
    }
}

fn policy(f: &GpFile) -> Option<&PolicyFile> {
    match &f.content {
        GpContent::Policy(p) => Some(p),
        _ => None,
    }
}

/// A GPO named only by its pol file's path.
fn ref_of_file(f: &GpFile) -> GpoRef {
    GpoRef {
        display_name: None,
        guid: f.guid.clone(),
        local: f.artifact == Some("local_gpo"),
        link: None,
        version: None,
        order: None,
        enforced: None,
    }
}

/// The value an instruction carries, decoded for the setting like a registry value.
fn gpo_value(
    cat: &SettingsCatalog,
    def: &SettingDef,
    row: &SourceDef,
    gpo: GpoRef,
    file: &GpFile,
    effect: Effect<'_>,
) -> GpoValue {
    let e = effect.entry();
    let op = match effect {
        Effect::Set(_) => GpoOp::Set,
        Effect::SoftSet(_) => GpoOp::SoftSet,
        Effect::Deleted(_) => GpoOp::Delete,
    };
    let (value, display) = if op == GpoOp::Delete {
        (None, format!("deletes it ({})", e.value_name))
    } else {
        let rv = RegValue {
            data: e.data.clone(),
            provenance: RegProvenance {
                file: file.path.clone(),
                form: SourceForm::PolicyFile,
                hive: HiveKind::Software,
                key: e.key.clone(),
                value: e.value_name.clone(),
                value_type: e.data.type_name(),
            },
        };
        let mut notes = Vec::new();
        match super::resolve::decode_for(cat, def, row, &rv, &mut notes) {
            Some(v) => {
                let d = super::resolve::display_value(cat, def, &v);
                (Some(v), d)
            }
            None => (
                None,
                format!("{} of type {}", e.value_name, e.data.type_name()),
            ),
        }
    };
    GpoValue {
        gpo,
        op,
        value,
        display,
        file: file.path.clone(),
        offset: e.offset,
    }
}

/// Attribute every setting's machine-policy value (the first `policy` candidate row of the
/// SOFTWARE hive) to GPOs. Settings whose policy value no evidence speaks of are left alone, so
/// a capture without Group Policy evidence resolves exactly as before.
pub fn attribute(settings: &mut Settings, cat: &SettingsCatalog, gp: &GroupPolicy) {
    if gp.is_empty() {
        return;
    }
    for s in &mut settings.settings {
        let Some(def) = cat.setting(&s.name) else {
            continue;
        };
        let Some(row) = policy_row(def) else {
            continue;
        };
        let registry_has_it = s.source == Some(SourceKind::Policy)
            || s.shadowed.iter().any(|x| x.source == SourceKind::Policy);
        let registry_value = if s.source == Some(SourceKind::Policy) {
            s.value.clone()
        } else {
            s.shadowed
                .iter()
                .find(|x| x.source == SourceKind::Policy)
                .map(|x| x.value.clone())
        };
        if let Some(a) = attribute_one(cat, def, row, gp, registry_has_it, registry_value.as_ref())
        {
            s.gpo = Some(a);
        }
    }
}

/// A number as a report shows it (the registry form: `900000`), decoded for the setting like the
/// setting's machine-policy value (the row's inversion and mapping applied); `None` when it is
/// not a number or the setting has no such value.
pub(super) fn reported_value(
    cat: &SettingsCatalog,
    setting: &str,
    raw: &str,
) -> Option<SettingValue> {
    let def = cat.setting(setting)?;
    let row = policy_row(def)?;
    let n = raw.trim().parse::<u32>().ok()?;
    let rv = RegValue {
        data: RegData::Dword(n),
        provenance: RegProvenance {
            file: String::new(),
            form: SourceForm::PolicyFile,
            hive: HiveKind::Software,
            key: row.path.clone(),
            value: row.value.clone().unwrap_or_default(),
            value_type: "REG_DWORD".to_string(),
        },
    };
    super::resolve::decode_for(cat, def, row, &rv, &mut Vec::new())
}

/// A value as a report shows it, decoded for display when it is a plain number
/// ([`reported_value`]: `900000` → `15 minutes (900000 ms)`); a policy's own words
/// (`Enabled (…: Per Device)`) stay as the report has them.
fn reported_display(cat: &SettingsCatalog, setting: &str, raw: &str) -> String {
    match (cat.setting(setting), reported_value(cat, setting, raw)) {
        (Some(def), Some(v)) => super::resolve::display_value(cat, def, &v),
        _ => raw.to_string(),
    }
}

/// The setting's machine-policy value: its first `policy` candidate row in the SOFTWARE hive
/// (`TSPOL\<value>`).
fn policy_row(def: &SettingDef) -> Option<&SourceDef> {
    def.sources.iter().find(|r| {
        r.source == SourceKind::Policy
            && r.role == Role::Candidate
            && r.hive == Some(HiveKind::Software)
            && r.format != ValueFormat::SubkeyNames
            && r.value.is_some()
    })
}

fn attribute_one(
    cat: &SettingsCatalog,
    def: &SettingDef,
    row: &SourceDef,
    gp: &GroupPolicy,
    registry_has_it: bool,
    registry_value: Option<&SettingValue>,
) -> Option<GpoAttribution> {
    let name = row.value.as_deref()?;
    let key = format!(r"Software\{}", row.path);
    let list = gp.machine_list();
    let mut out = GpoAttribution {
        status: AttributionStatus::GpoListUnknown,
        key: format!(r"SOFTWARE\{}", row.path),
        value_name: name.to_string(),
        winner: None,
        shadowed: Vec::new(),
        missing: Vec::new(),
        unplaced: Vec::new(),
        chain: Vec::new(),
        notes: Vec::new(),
        refs: gp.refs.clone(),
    };
    for f in gp.unplaced_pols(list) {
        if let Some(effect) = policy(f).and_then(|p| p.effect_on(&key, name)) {
            out.unplaced
                .push(gpo_value(cat, def, row, ref_of_file(f), f, effect));
        }
    }
    let reported = gp.reported.iter().find(|r| {
        r.scope == Scope::Machine
            && r.key.eq_ignore_ascii_case(&key)
            && r.value_name.eq_ignore_ascii_case(name)
    });

    let Some(list) = list else {
        if !registry_has_it && out.unplaced.is_empty() && reported.is_none() {
            return None;
        }
        let why = match gp.lists.first().map(|l| &l.state) {
            Some(ListState::NotProvided { detail }) => format!("not provided ({detail})"),
            Some(ListState::Unreadable { detail }) => format!("unreadable ({detail})"),
            _ => "absent: the SOFTWARE hive records no Group Policy history".to_string(),
        };
        out.chain.push(format!("the list of applied GPOs is {why}"));
        if let Some(r) = reported {
            from_report(&mut out, r);
        } else if !out.unplaced.is_empty() {
            out.notes.push(format!(
                "{} Registry.pol file(s) set or delete it, but without the applied GPO list their order (and so the winner) is unknown",
                out.unplaced.len()
            ));
        }
        return Some(out);
    };

    // Walk the applied GPOs in application order.
    let mut steps: Vec<(usize, GpoValue)> = Vec::new();
    let mut consulted = Vec::new();
    for gpo in &list.gpos {
        let r = GpoRef::of(gpo);
        match gp.pol_of(gpo) {
            None => {
                consulted.push((gpo.order, Some("not_provided")));
                out.chain.push(format!(
                    "{}. {}: Registry.pol not provided",
                    gpo.order + 1,
                    r.describe()
                ));
            }
            Some(f) => {
                let p = policy(f)?;
                let effect = p.effect_on(&key, name);
                let damaged = p.error.is_some();
                match effect {
                    Some(e) => {
                        let v = gpo_value(cat, def, row, r.clone(), f, e);
                        out.chain.push(format!(
                            "{}. {}: {} ({} at offset {})",
                            gpo.order + 1,
                            r.describe(),
                            match v.op {
                                GpoOp::Delete => v.display.clone(),
                                GpoOp::SoftSet => format!("sets {} if absent", v.display),
                                GpoOp::Set => format!("sets {}", v.display),
                            },
                            f.path,
                            v.offset
                        ));
                        steps.push((gpo.order, v));
                        consulted.push((gpo.order, damaged.then_some("unreadable")));
                    }
                    None if damaged => {
                        consulted.push((gpo.order, Some("unreadable")));
                        out.chain.push(format!(
                            "{}. {}: Registry.pol {} is damaged before its end and does not set it in what could be read",
                            gpo.order + 1,
                            r.describe(),
                            f.path
                        ));
                    }
                    None => {
                        consulted.push((gpo.order, None));
                        out.chain.push(format!(
                            "{}. {}: does not set it ({})",
                            gpo.order + 1,
                            r.describe(),
                            f.path
                        ));
                    }
                }
            }
        }
    }
    let provided_any = list.gpos.iter().any(|g| gp.pol_of(g).is_some());
    if !provided_any {
        if let Some(r) = reported {
            from_report(&mut out, r);
            return Some(out);
        }
        if !registry_has_it && out.unplaced.is_empty() {
            return None;
        }
        out.status = AttributionStatus::PolFilesNotProvided;
        out.missing = list
            .gpos
            .iter()
            .map(|g| MissingGpo {
                gpo: GpoRef::of(g),
                reason: "not_provided",
                after_winner: true,
            })
            .collect();
        out.notes.push(format!(
            "{} GPO(s) applied registry policy ({}); their Registry.pol files were not provided, so which one set the value is not known",
            list.gpos.len(),
            list.gpos
                .iter()
                .map(AppliedGpo::label)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Some(out);
    }
    if steps.is_empty() && !registry_has_it && out.unplaced.is_empty() {
        // No file of any applied GPO speaks of it and the registry holds no policy value.
        return None;
    }
    // The last instruction that takes effect decides (S101, S102): a later GPO overwrites an
    // earlier one; a `**soft.` instruction writes only if the value is absent at that point
    // (S40), so after an earlier set it does nothing. Registry policy is rebuilt from the first
    // applied GPO on, so the value is absent before it.
    let mut present = false;
    let mut win: Option<usize> = None;
    let mut took_effect = vec![true; steps.len()];
    for (i, (_, v)) in steps.iter().enumerate() {
        match v.op {
            GpoOp::Set => (win, present) = (Some(i), true),
            GpoOp::Delete => (win, present) = (Some(i), false),
            GpoOp::SoftSet if !present => (win, present) = (Some(i), true),
            GpoOp::SoftSet => took_effect[i] = false,
        }
    }
    for ((_, v), _) in steps.iter().zip(&took_effect).filter(|(_, t)| !**t) {
        out.notes.push(format!(
            "{} sets it only if absent (**soft.), and an earlier GPO had set it: no effect",
            v.gpo.label()
        ));
    }
    let winner = win.map(|i| steps[i].clone());
    let winner_order = winner.as_ref().map(|(o, _)| *o);
    out.shadowed = steps
        .iter()
        .zip(&took_effect)
        .take(win.unwrap_or(0))
        .rev()
        .filter(|((_, v), t)| **t && v.op != GpoOp::Delete)
        .map(|((_, v), _)| v.clone())
        .collect();
    for (order, reason) in consulted {
        let Some(reason) = reason else { continue };
        if Some(order) == winner_order {
            // The winner's own file is damaged after the instruction read: a later instruction
            // of the same file could change it.
            out.notes.push(
                "the winning GPO's Registry.pol is damaged after the instruction read: a later instruction of the same file could change it".into(),
            );
            continue;
        }
        if let Some(g) = list.gpos.get(order) {
            out.missing.push(MissingGpo {
                gpo: GpoRef::of(g),
                reason,
                after_winner: winner_order.is_none_or(|w| order > w),
            });
        }
    }
    let later_missing = out.missing.iter().any(|m| m.after_winner);
    out.status = if later_missing {
        AttributionStatus::Partial
    } else {
        AttributionStatus::Attributed
    };
    out.winner = winner.map(|(_, v)| v);
    if let Some(w) = &out.winner {
        if later_missing {
            out.notes.push(format!(
                "{} wins among the Registry.pol files provided, unless a GPO applied after it sets the value: {}",
                w.gpo.label(),
                out.missing
                    .iter()
                    .filter(|m| m.after_winner)
                    .map(|m| format!("{} ({})", m.gpo.label(), m.reason.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if w.op == GpoOp::Delete && registry_has_it {
            out.notes.push(
                "the last GPO deletes the value, yet the registry holds it: the files may be newer or older than what was applied".into(),
            );
        }
        if let (Some(reg), Some(pol)) = (registry_value, &w.value) {
            if reg != pol && w.op == GpoOp::Set {
                out.notes.push(format!(
                    "the registry holds {} but {}'s Registry.pol sets {}: the copy in the bundle may differ from what was applied",
                    super::resolve::display_value(cat, def, reg),
                    w.gpo.label(),
                    w.display
                ));
            }
        }
        if let Some(g) = w.gpo.order.and_then(|o| list.gpos.get(o)) {
            if let (Some(v), Some(ini)) = (g.version, g.gpt_ini_version) {
                if v != ini {
                    out.notes.push(format!(
                        "{} was applied at version {v}; the GPT.INI in the bundle says {ini}",
                        w.gpo.label()
                    ));
                }
            }
        }
    } else if registry_has_it && !later_missing {
        out.notes.push(
            "no applied GPO's Registry.pol sets it, yet the registry holds a policy value: it was written outside Group Policy, or by a GPO no longer applied".into(),
        );
    }
    if !out.missing.iter().all(|m| m.after_winner) {
        out.notes.push(
            "the Registry.pol of a GPO applied before the winner was not read: `shadowed` may be incomplete".into(),
        );
    }
    if let (AttributionStatus::Partial, Some(r)) = (out.status, reported) {
        out.notes.push(format!(
            "gpresult ({}) names {} as the winner ({})",
            r.file,
            r.winner.describe(),
            r.display
        ));
    }
    Some(out)
}

fn from_report(out: &mut GpoAttribution, r: &ReportedSetting) {
    out.status = if r.matches_registry == Some(false) {
        out.notes.push(format!(
            "{} shows {} for it, which is not the value the hives hold: the report is older or newer than the hives, so which GPO set the machine's value is not known",
            r.file, r.display
        ));
        AttributionStatus::ReportDisagrees
    } else {
        AttributionStatus::FromReport
    };
    out.winner = Some(GpoValue {
        gpo: r.winner.clone(),
        op: r.op,
        value: None,
        display: r.display.clone(),
        file: r.file.clone(),
        offset: 0,
    });
    out.shadowed = r
        .shadowed
        .iter()
        .map(|g| GpoValue {
            gpo: g.clone(),
            op: GpoOp::Set,
            value: None,
            display: String::new(),
            file: r.file.clone(),
            offset: 0,
        })
        .collect();
    out.chain.push(format!(
        "{} names {} as the winning GPO",
        r.file,
        r.winner.describe()
    ));
}
