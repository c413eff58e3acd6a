//! User policy: the RDS settings that exist in computer and user configuration (the session time
//! limits and `fResetBroken`: the `NTUSER` policy rows of `setting_sources.tsv`), read from every
//! user hive (NTUSER.DAT) of the capture and resolved with the documented rule: when both computer
//! and user policy set one, computer policy wins (reference R2, from each policy's explain text,
//! S02). A user's value applies to that user only, when computer policy does not set the setting.

use serde::Serialize;

use crate::catalog::settings::{catalog, Role, SettingKind, SourceKind};
use crate::evidence::HiveKind;
use crate::registry::{Lookup, RegProvenance, RegistryView};

use super::model::{SettingState, SettingValue, Settings};
use super::resolve::display_value;

/// Whether a user's value applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserValueStatus {
    /// Computer policy does not set the setting: the user's value applies to this user.
    Effective,
    /// Computer policy sets the setting and wins (R2).
    OverriddenByComputerPolicy,
    /// Whether computer policy sets it is unknown (SOFTWARE not provided or unreadable): the
    /// user's value applies unless it does.
    UnlessComputerPolicy,
}

impl UserValueStatus {
    pub fn describe(self) -> &'static str {
        match self {
            UserValueStatus::Effective => "effective for this user",
            UserValueStatus::OverriddenByComputerPolicy => "overridden by computer policy",
            UserValueStatus::UnlessComputerPolicy => {
                "effective unless computer policy sets it (computer policy unknown)"
            }
        }
    }
}

/// One user's value of a setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserValue {
    /// The user, from the hive's folder (`C/Users/<name>/NTUSER.DAT`; a SID folder gives the SID).
    pub user: String,
    pub value: SettingValue,
    pub display: String,
    pub status: UserValueStatus,
    pub provenance: RegProvenance,
    /// The GPO that set it, when gpresult output for this user names the winner of the
    /// setting's user-scope policy ([`UserPolicy::attach_gpresult`]): `'Name' {GUID}, linked to
    /// …` and the report file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpo: Option<String>,
}

/// One setting across the users of the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSetting {
    pub setting: String,
    /// The computer policy value, when computer policy sets the setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer_policy: Option<String>,
    /// Users whose hive sets it.
    pub users: Vec<UserValue>,
    /// Users whose hive was read and does not set it.
    pub not_set: Vec<String>,
    /// Whether the users' values differ (a value set for some users and not others counts).
    pub users_differ: bool,
}

/// A user hive of the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserHive {
    pub user: String,
    pub file: String,
    /// Why it could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// User policy of every user hive. Absent from a report when the capture holds no user hive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPolicy {
    pub hives: Vec<UserHive>,
    /// Settings that some user hive sets, in catalogue order.
    pub settings: Vec<UserSetting>,
    /// The rule applied, with its source.
    pub rule: String,
}

impl UserPolicy {
    /// Name the GPO of each user's value from gpresult output: a report's user-scope chain for
    /// the setting names the winning GPO for the user the report was run for (`DOMAIN\\name`,
    /// matched by name, case-insensitive, with the hive's user).
    pub fn attach_gpresult(&mut self, gp: &super::GpresultSummary) {
        for s in &mut self.settings {
            for chain in gp
                .chains(&s.setting)
                .filter(|c| c.scope == crate::gpresult::Scope::User)
            {
                let Some(w) = &chain.winner else { continue };
                let Some(report_user) = gp
                    .files
                    .iter()
                    .find(|f| f.file == chain.file)
                    .and_then(|f| f.user.as_deref())
                else {
                    continue;
                };
                let bare = report_user
                    .rsplit(['\\', '/'])
                    .next()
                    .unwrap_or(report_user);
                for u in s.users.iter_mut().filter(|u| u.gpo.is_none()) {
                    if u.user.eq_ignore_ascii_case(bare) || u.user.eq_ignore_ascii_case(report_user)
                    {
                        let mut label = format!("'{}'", w.name);
                        if let Some(g) = &w.guid {
                            label.push_str(&format!(" {g}"));
                        }
                        if let Some(l) = &w.link {
                            label.push_str(&format!(", linked to {l}"));
                        }
                        u.gpo = Some(format!("{label} (gpresult {})", chain.file));
                    }
                }
            }
        }
    }
}

/// The user a hive belongs to, from its path: the folder holding `NTUSER.DAT`.
pub fn user_of(file: &str) -> String {
    let mut parts: Vec<&str> = file.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let name = parts.pop().unwrap_or(file);
    match parts.last() {
        Some(folder) => (*folder).to_string(),
        None => name.to_string(),
    }
}

/// Decode a user-policy DWORD for the setting's kind.
fn decode(kind: SettingKind, inverted: bool, n: u64) -> Option<SettingValue> {
    Some(match kind {
        SettingKind::Flag => SettingValue::Flag((n != 0) != inverted),
        SettingKind::DurationMs => SettingValue::DurationMs(n),
        SettingKind::Count => SettingValue::Count(n),
        _ => return None,
    })
}

/// Read user policy from every NTUSER hive of the view and resolve it against the resolved
/// computer configuration. `None` when the capture holds no user hive.
pub fn read(view: &RegistryView, settings: &Settings) -> Option<UserPolicy> {
    let files = view.hive_files(HiveKind::NtUser);
    if files.is_empty() {
        return None;
    }
    let cat = catalog();
    let hives: Vec<UserHive> = files
        .iter()
        .map(|(file, u)| UserHive {
            user: user_of(file),
            file: file.clone(),
            unreadable: u.as_ref().map(|u| u.reason.clone()),
        })
        .collect();
    let mut out = Vec::new();
    for def in &cat.settings {
        let Some(row) = def.sources.iter().find(|r| {
            r.source == SourceKind::Policy
                && r.hive == Some(HiveKind::NtUser)
                && r.role == Role::Related
        }) else {
            continue;
        };
        let Some(name) = row.value.as_deref() else {
            continue;
        };
        let resolved = settings.get(&def.name);
        let status = match resolved {
            Some(s) if s.state == SettingState::Set && s.source == Some(SourceKind::Policy) => {
                UserValueStatus::OverriddenByComputerPolicy
            }
            Some(s)
                if s.unknown
                    .iter()
                    .any(|u| u.source == SourceKind::Policy && u.decisive) =>
            {
                UserValueStatus::UnlessComputerPolicy
            }
            _ => UserValueStatus::Effective,
        };
        let computer_policy = resolved
            .filter(|_| status == UserValueStatus::OverriddenByComputerPolicy)
            .map(|s| s.value_display.clone());
        let mut users = Vec::new();
        let mut not_set = Vec::new();
        for h in hives.iter().filter(|h| h.unreadable.is_none()) {
            match view.value_in_file(&h.file, &row.path, name) {
                Lookup::Found(v) => {
                    let n = v.data.as_u64();
                    match n.and_then(|n| decode(def.kind, row.inverted, n)) {
                        Some(value) => users.push(UserValue {
                            user: h.user.clone(),
                            display: display_value(cat, def, &value),
                            value,
                            status,
                            provenance: v.provenance,
                            gpo: None,
                        }),
                        None => not_set.push(format!(
                            "{} ({} has type {}: not read)",
                            h.user,
                            name,
                            v.data.type_name()
                        )),
                    }
                }
                _ => not_set.push(h.user.clone()),
            }
        }
        if users.is_empty() {
            continue;
        }
        let first = &users[0].value;
        let users_differ = !not_set.is_empty() || users.iter().any(|u| &u.value != first);
        out.push(UserSetting {
            setting: def.name.clone(),
            computer_policy,
            users,
            not_set,
            users_differ,
        });
    }
    Some(UserPolicy {
        hives,
        settings: out,
        rule: "computer policy wins over user policy for the session time limits and \
               fResetBroken when both are set (reference R2, S02); a user's value applies to \
               that user only"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_from_path() {
        assert_eq!(user_of("C/Users/alice/NTUSER.DAT"), "alice");
        assert_eq!(user_of(r"Users\S-1-5-21-1\NTUSER.DAT"), "S-1-5-21-1");
        assert_eq!(user_of("NTUSER.DAT"), "NTUSER.DAT");
    }
}
