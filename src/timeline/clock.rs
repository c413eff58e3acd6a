//! Clock changes: a log's record ids are the order its records were written, so a record whose
//! time is earlier than its predecessor's in the same file by more than a tolerance shows the
//! host's clock was set back. A forward step that such a change undoes is a clock change too. The changes seen in several logs are matched into one list, and every
//! event gets the clock *epoch* it was written in (0 before the first change), so sessions are
//! cut at a change and events are ordered by epoch first. See `docs/timeline.md`, "Clock
//! changes".

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::eventlog::Event;

/// Which way the clock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockDirection {
    Back,
    Forward,
}

/// One log showing a clock change: the last record before it and the first after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockSighting {
    pub file: Arc<str>,
    /// The last record written before the change, and its time.
    pub before_record_id: u64,
    pub from: Timestamp,
    /// The first record written after the change, and its time.
    pub record_id: u64,
    pub to: Timestamp,
}

/// A change of the host's clock, as the logs show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockChange {
    pub direction: ClockDirection,
    /// The latest time a log wrote before the change.
    pub from: Timestamp,
    /// The earliest time a log wrote after it.
    pub to: Timestamp,
    /// `to - from` in seconds (negative when the clock went back).
    pub seconds: i64,
    /// The log and record that show it most closely (the first record after the change).
    pub file: Arc<str>,
    pub record_id: u64,
    /// Every log that shows it (file order), this one included.
    pub seen_in: Vec<ClockSighting>,
}

impl ClockChange {
    /// One line in our own words, times in UTC: `clock changed at … from … back to …`.
    pub fn describe(&self) -> String {
        let others: Vec<&str> = self
            .seen_in
            .iter()
            .map(|s| &*s.file)
            .filter(|f| *f != &*self.file)
            .collect();
        format!(
            "clock changed at {}: {} {} to {} (shown by {} record {}{})",
            self.from,
            match self.direction {
                ClockDirection::Back => "set back by",
                ClockDirection::Forward => "set forward by",
            },
            span_text(self.seconds.unsigned_abs()),
            self.to,
            self.file,
            self.record_id,
            if others.is_empty() {
                String::new()
            } else {
                format!("; also in {}", others.join(", "))
            }
        )
    }
}

/// `196 days 3 h`, `2 h 5 min`, `90 s`.
fn span_text(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// What the record order of the logs says about the clock.
#[derive(Debug, Default)]
pub(super) struct Clock {
    pub changes: Vec<ClockChange>,
    /// The epoch of each input event (by input index); empty when the clock never changed.
    pub epochs: Vec<u32>,
    /// Files with records out of time order by less than the tolerance (not a clock change).
    pub jittery_files: Vec<Arc<str>>,
}

impl Clock {
    pub fn epoch(&self, input_index: usize) -> u32 {
        self.epochs.get(input_index).copied().unwrap_or(0)
    }
}

/// A change seen in one file: at input position `at` (the first record after it).
#[derive(Debug, Clone)]
struct FileChange {
    direction: ClockDirection,
    before: usize,
    at: usize,
    from: Timestamp,
    to: Timestamp,
}

impl FileChange {
    /// The times the change spans, earlier first.
    fn span(&self) -> (Timestamp, Timestamp) {
        (self.from.min(self.to), self.from.max(self.to))
    }
}

/// The clock changes in `events` (any order, any number of files), with each event's epoch.
/// One pass over the events, each file's in record order: in the order given when every file's
/// records come in increasing record id (the pipeline's time order, unless the clock changed),
/// else after sorting positions by (file, record id).
pub(super) fn analyse(events: &[Event], tolerance: SignedDuration) -> Clock {
    let scans = match scan_in_given_order(events, tolerance) {
        Some(scans) => scans,
        None => {
            let mut order: Vec<usize> = (0..events.len()).collect();
            order.sort_by(|&a, &b| {
                let (x, y) = (&events[a], &events[b]);
                (&x.file, x.record_id, x.offset, a).cmp(&(&y.file, y.record_id, y.offset, b))
            });
            let mut scans: Vec<FileScan> = Vec::new();
            for i in order {
                match scans.last_mut() {
                    Some(f) if events[f.last].file == events[i].file => {
                        f.push(events, i, tolerance)
                    }
                    _ => scans.push(FileScan::new(i)),
                }
            }
            scans
        }
    };
    let mut clock = Clock::default();
    let mut per_file: Vec<(Arc<str>, Vec<FileChange>, Vec<usize>)> = Vec::new();
    for f in scans {
        let file = events[f.last].file.clone();
        if f.jitter {
            clock.jittery_files.push(file.clone());
        }
        if !f.changes.is_empty() {
            per_file.push((file, f.changes, Vec::new()));
        }
    }
    clock.jittery_files.sort();
    if per_file.is_empty() {
        return clock;
    }
    let global = match_changes(events, &mut per_file);
    clock.epochs = epochs(events, &per_file, &global);
    clock.changes = global.into_iter().map(|g| g.change).collect();
    clock
}

/// Scan every file in the order given, or `None` when some file's records do not come in
/// increasing record id. A log has a handful of files: they are looked up in a short list,
/// the last one first (shared names compare by pointer).
fn scan_in_given_order(events: &[Event], tolerance: SignedDuration) -> Option<Vec<FileScan>> {
    let mut scans: Vec<FileScan> = Vec::new();
    let mut cur = usize::MAX;
    for (i, e) in events.iter().enumerate() {
        let same = |f: &FileScan| {
            let file = &events[f.last].file;
            Arc::ptr_eq(file, &e.file) || *file == e.file
        };
        if scans.get(cur).is_none_or(|f| !same(f)) {
            match scans.iter().position(same) {
                Some(n) => cur = n,
                None => {
                    scans.push(FileScan::new(i));
                    cur = scans.len() - 1;
                    continue;
                }
            }
        }
        let f = &mut scans[cur];
        if e.record_id <= events[f.last].record_id {
            return None;
        }
        f.push(events, i, tolerance);
    }
    Some(scans)
}

/// One file's records, met in record order: the clock changes they show, and whether they step
/// back by less than the tolerance somewhere.
struct FileScan {
    /// Position of the last record met.
    last: usize,
    changes: Vec<FileChange>,
    jitter: bool,
    /// The largest forward step since the last change: (size, change).
    largest_forward: Option<(SignedDuration, FileChange)>,
}

impl FileScan {
    fn new(first: usize) -> FileScan {
        FileScan {
            last: first,
            changes: Vec::new(),
            jitter: false,
            largest_forward: None,
        }
    }

    /// The next record of the file (position `i` in `events`).
    fn push(&mut self, events: &[Event], i: usize, tolerance: SignedDuration) {
        let (p, t) = (self.last, events[i].time);
        self.last = i;
        let pt = events[p].time;
        let step = t.duration_since(pt);
        let change = FileChange {
            direction: ClockDirection::Forward,
            before: p,
            at: i,
            from: pt,
            to: t,
        };
        if step < -tolerance {
            let size = -step;
            // A forward jump of about the same size since the last change, which this one
            // undoes (it lands after the time the forward jump left, and no later than the time
            // spent at the wrong time allows), was a clock change too.
            if let Some((fsize, f)) = self.largest_forward.take() {
                let wrong_for = pt.duration_since(f.to);
                if fsize >= size / 2
                    && fsize <= size * 2
                    && t >= back_by(f.from, tolerance)
                    && t <= super::shift(f.from, wrong_for * 2 + tolerance)
                {
                    self.changes.push(f);
                }
            }
            self.changes.push(FileChange {
                direction: ClockDirection::Back,
                ..change
            });
        } else if step < SignedDuration::ZERO {
            self.jitter = true;
        } else if step > tolerance && self.largest_forward.as_ref().is_none_or(|(s, _)| step > *s) {
            self.largest_forward = Some((step, change));
        }
    }
}

fn back_by(t: Timestamp, d: SignedDuration) -> Timestamp {
    super::back(t, d)
}

/// A change in the merged list, with the file changes that show it.
struct Global {
    change: ClockChange,
    lo: Timestamp,
    hi: Timestamp,
}

/// Match the files' changes into one ordered list: files with the most changes first; each
/// change of a file matches the next global change in order that goes the same way and whose
/// span overlaps it, or is inserted after the last one it matched. Sets each file change's
/// global position (third member of `per_file`).
fn match_changes(
    events: &[Event],
    per_file: &mut [(Arc<str>, Vec<FileChange>, Vec<usize>)],
) -> Vec<Global> {
    per_file.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    // Global changes by id; `order` holds the ids in time order of the host's history.
    let mut globals: Vec<Global> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut ids_per_file: Vec<Vec<usize>> = Vec::with_capacity(per_file.len());
    for (file, changes, _) in per_file.iter() {
        let mut ids = Vec::with_capacity(changes.len());
        let mut next = 0;
        for c in changes {
            let (lo, hi) = c.span();
            let sighting = ClockSighting {
                file: file.clone(),
                before_record_id: events[c.before].record_id,
                from: c.from,
                record_id: events[c.at].record_id,
                to: c.to,
            };
            let found = (next..order.len()).find(|&q| {
                let g = &globals[order[q]];
                g.change.direction == c.direction && lo <= g.hi && g.lo <= hi
            });
            let id = match found {
                Some(q) => {
                    let g = &mut globals[order[q]];
                    g.change.from = g.change.from.max(c.from);
                    if c.to < g.change.to {
                        g.change.to = c.to;
                        g.change.file = file.clone();
                        g.change.record_id = sighting.record_id;
                    }
                    g.change.seen_in.push(sighting);
                    next = q + 1;
                    order[q]
                }
                None => {
                    globals.push(Global {
                        change: ClockChange {
                            direction: c.direction,
                            from: c.from,
                            to: c.to,
                            seconds: 0,
                            file: file.clone(),
                            record_id: sighting.record_id,
                            seen_in: vec![sighting],
                        },
                        lo,
                        hi,
                    });
                    order.insert(next, globals.len() - 1);
                    next += 1;
                    globals.len() - 1
                }
            };
            ids.push(id);
        }
        ids_per_file.push(ids);
    }
    let position_of: Vec<usize> = {
        let mut p = vec![0; globals.len()];
        for (q, &id) in order.iter().enumerate() {
            p[id] = q;
        }
        p
    };
    for ((_, _, positions), ids) in per_file.iter_mut().zip(ids_per_file) {
        *positions = ids.into_iter().map(|id| position_of[id]).collect();
    }
    let mut slots: Vec<Option<Global>> = globals.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|id| slots[id].take())
        .map(|mut g| {
            g.change.seen_in.sort_by(|a, b| a.file.cmp(&b.file));
            g.change.seconds = g.change.to.duration_since(g.change.from).as_secs();
            g
        })
        .collect()
}

/// The epoch of every event: in a file that shows changes, a record between its changes at
/// global positions `a` and `b` is in an epoch from `a + 1` to `b`; within that range (and in
/// files that show no change) a record is past a change it did not show when its time is at or
/// after the change's landing time.
fn epochs(
    events: &[Event],
    per_file: &[(Arc<str>, Vec<FileChange>, Vec<usize>)],
    global: &[Global],
) -> Vec<u32> {
    let m = global.len();
    let by_time = |t: Timestamp, lo: usize, hi: usize| -> u32 {
        // Epochs lo..=hi are possible; pass the unshown changes lo..hi whose landing is <= t.
        (lo..hi)
            .rev()
            .find(|&k| t >= global[k].change.to)
            .map_or(lo, |k| k + 1) as u32
    };
    let mut out: Vec<u32> = events.iter().map(|e| by_time(e.time, 0, m)).collect();
    // Files that show changes: their records between two of their own changes.
    for (file, changes, positions) in per_file {
        // The record order of this file's events, from the change positions: the events of
        // the file with record ids in each range.
        let bounds: Vec<(u64, usize)> = changes
            .iter()
            .zip(positions)
            .map(|(c, &g)| (events[c.at].record_id, g))
            .collect();
        for (i, e) in events.iter().enumerate() {
            if e.file != *file {
                continue;
            }
            // Segment s: records before the s-th change's first record.
            let s = bounds.partition_point(|&(r, _)| r <= e.record_id);
            let lo = if s == 0 { 0 } else { bounds[s - 1].1 + 1 };
            let hi = if s < bounds.len() { bounds[s].1 } else { m };
            out[i] = by_time(e.time, lo, hi.max(lo));
        }
    }
    out
}
