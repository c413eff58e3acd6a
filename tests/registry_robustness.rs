//! Damaged evidence never panics the registry layer: random bytes flipped in a hive, in its
//! transaction log, and random text fed to the `.reg` and `reg query` parsers. Every lookup still
//! answers one of the four outcomes, and no panic happens even where a guard would catch it.

use proptest::prelude::*;
use rdsdiag::evidence::{HiveKind, InputKind, InputStatus};
use rdsdiag::registry::{query, text, Lookup, RegistryView};
use rdsdiag_testsupport::hive::{self, Data, Key};

#[path = "common/registry_input.rs"]
mod registry_input;
use registry_input::input;

fn tree() -> Key {
    let mut t = hive::system_tree(1);
    let ts = r"ControlSet001\Control\Terminal Server";
    t.set(ts, "fDenyTSConnections", Data::Dword(0));
    t.set(ts, "Name", Data::Sz("x".repeat(40)));
    t.set(
        &format!(r"{ts}\RCM\Licensing Core"),
        "LicensingMode",
        Data::Dword(4),
    );
    t.set(&format!(r"{ts}\RCM"), "Big", Data::Binary(vec![5; 20_000]));
    for i in 0..40 {
        t.set(
            &format!(r"ControlSet001\Services\S{i}"),
            "Start",
            Data::Dword(i),
        );
    }
    t
}

thread_local! {
    static PANICS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Count panics on this thread, also those a guard catches (nt-hive must never be handed a cell
/// it panics on, so the guards around it never fire).
fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(|p| p.set(0));
}

fn panics() -> usize {
    PANICS.with(std::cell::Cell::get)
}

/// Ask everything a caller would ask; any outcome is fine, a panic is not.
fn exercise(view: &RegistryView) {
    let _ = view.current_control_set();
    for (path, name) in [
        (
            r"CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
        ),
        (r"CurrentControlSet\Control\Terminal Server", "Name"),
        (r"CurrentControlSet\Control\Terminal Server\RCM", "Big"),
        (
            r"CurrentControlSet\Control\Terminal Server\RCM\Licensing Core",
            "LicensingMode",
        ),
        (r"CurrentControlSet\Services\S7", "Start"),
        ("Select", "Current"),
    ] {
        match view.value(HiveKind::System, path, name) {
            Lookup::Found(_)
            | Lookup::Absent
            | Lookup::Unreadable(_)
            | Lookup::NotProvided { .. } => {}
        }
    }
    let r = query::run(view, r"HKLM\SYSTEM", None, true).expect("key maps");
    let _ = rdsdiag::render::reg::render_text(&r);
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((any::<usize>(), 1u8..=255), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn damaged_hive_bytes_never_panic(f in flips()) {
        let clean = hive::build_hive(&tree());
        let mut b = clean.clone();
        for (at, x) in &f {
            let i = at % b.len();
            b[i] ^= x;
        }
        let tmp = tempfile::tempdir().expect("tmp");
        count_panics();
        let mut inputs = vec![input(tmp.path(), "SYSTEM", InputKind::Hive, Some(HiveKind::System), &b)];
        let view = RegistryView::load(&inputs).apply_to(&mut inputs);
        prop_assert_ne!(inputs[0].status, InputStatus::Pending);
        exercise(&view);
        prop_assert_eq!(panics(), 0, "a reader panicked (a guard caught it)");
    }

    #[test]
    fn damaged_logs_never_panic(f in flips(), entries in 1usize..4) {
        let old = hive::build_hive(&tree());
        let mut t = tree();
        t.set(r"ControlSet001\Control\Terminal Server", "fDenyTSConnections", Data::Dword(1));
        let new = hive::build_hive(&t);
        let mut dirty = hive::dirty_with_new_logs(&old, &new, 5, entries, None);
        let log = &mut dirty.logs[0].1;
        for (at, x) in &f {
            let i = at % log.len();
            log[i] ^= x;
        }
        let tmp = tempfile::tempdir().expect("tmp");
        let mut inputs = vec![
            input(tmp.path(), "SYSTEM", InputKind::Hive, Some(HiveKind::System), &dirty.primary),
            input(tmp.path(), "SYSTEM.LOG1", InputKind::HiveLog, Some(HiveKind::System), log),
        ];
        count_panics();
        let view = RegistryView::load(&inputs).apply_to(&mut inputs);
        prop_assert_ne!(inputs[0].status, InputStatus::Pending);
        prop_assert_ne!(inputs[1].status, InputStatus::Pending);
        exercise(&view);
        prop_assert_eq!(panics(), 0, "a reader panicked (a guard caught it)");
    }

    #[test]
    fn random_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), header in any::<bool>()) {
        let mut b = if header { b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n".to_vec() } else { Vec::new() };
        b.extend(&bytes);
        let _ = text::parse_reg_export(&b);
        let _ = text::parse_reg_query(&b);
        let mut q = b"HKEY_LOCAL_MACHINE\\SYSTEM\\Select\r\n    ".to_vec();
        q.extend(&bytes);
        let _ = text::parse_reg_query(&q);
    }

    #[test]
    fn random_reg_lines_never_panic(lines in proptest::collection::vec("[\"@=\\[\\]\\-\\\\a-z0-9(),: ]{0,30}", 0..20)) {
        let body = format!("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n{}", lines.join("\r\n"));
        let tmp = tempfile::tempdir().expect("tmp");
        let mut inputs = vec![input(tmp.path(), "x.reg", InputKind::RegExport, None, body.as_bytes())];
        let view = RegistryView::load(&inputs).apply_to(&mut inputs);
        let _ = view.key(HiveKind::Software, "X");
        let _ = query::run(&view, r"HKLM\SOFTWARE", None, true);
    }
}
