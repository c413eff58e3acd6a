//! Fitting text for people to a width: word wrap with hanging indents (a word longer than the
//! line, such as a path, is broken where the line ends), eliding, and removing the internal
//! source tags (`(S14)`, `(reference S37)`) that belong in `explain` and JSON, not in reports.
//! A width of 0 means unlimited: text is never wrapped.

/// Columns `s` takes on a terminal: characters, without ANSI colour sequences.
pub fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\x1b') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Greedy word wrap to `width` columns. `hard`: a word longer than a line is broken at the line
/// end (paths); otherwise it is left whole on its own line (URLs, rule ids in `explain`).
pub fn wrap(text: &str, width: usize, hard: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if width == 0 {
        lines.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
        return lines;
    }
    let mut line = String::new();
    let mut len = 0;
    for (sep, word) in words(text) {
        let mut word = word.to_string();
        let mut w = visible_len(&word);
        let gap = sep.max(1);
        if len > 0 && len + gap + w <= width {
            line.push_str(&" ".repeat(gap));
            line.push_str(&word);
            len += gap + w;
            continue;
        }
        if len > 0 {
            lines.push(std::mem::take(&mut line));
        }
        while hard && w > width && !word.contains('\x1b') {
            let cut: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            w -= width;
            lines.push(cut);
        }
        line = word;
        len = w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The words of `text`, each with the number of blanks before it (runs of blanks between words
/// are kept on a line, so aligned separators stay; line breaks count as one blank).
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut blanks = 0;
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((blanks, &text[s..i]));
                blanks = 0;
            }
            blanks += 1;
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((blanks, &text[s..]));
    }
    out
}

/// `text` wrapped to `width` with `first` before the first line and `rest` before the others;
/// lines end with `\n`. Long words are broken (see [`wrap`]).
pub fn fill(text: &str, width: usize, first: &str, rest: &str) -> String {
    fill_with(text, width, first, rest, true)
}

/// As [`fill`], choosing whether over-long words break.
pub fn fill_with(text: &str, width: usize, first: &str, rest: &str, hard: bool) -> String {
    if width == 0 || (visible_len(first) + visible_len(text) <= width && !text.contains('\n')) {
        return format!("{first}{text}\n");
    }
    let avail = |pad: &str| {
        if width == 0 {
            0
        } else {
            width.saturating_sub(visible_len(pad)).max(20)
        }
    };
    let mut out = String::new();
    let first_lines = wrap(text, avail(first), hard);
    // Wrap the first line at the first indent, the rest at theirs.
    let mut it = first_lines.into_iter();
    let head = it.next().unwrap_or_default();
    out.push_str(first);
    out.push_str(&head);
    out.push('\n');
    let remainder: Vec<String> = it.collect();
    if !remainder.is_empty() {
        for l in wrap(&remainder.join(" "), avail(rest), hard) {
            out.push_str(rest);
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// `text` cut to `width` columns with `…` when longer (0: unlimited).
pub fn elide(text: &str, width: usize) -> String {
    if width == 0 || visible_len(text) <= width || text.contains('\x1b') {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The text without source tags: a parenthesis holding only source ids (`(S14)`, `(S14, S54)`,
/// `(reference S37)`, `(S10: where the list is stored)` is kept — it says more than a tag) is
/// removed with the blank before it.
pub fn without_source_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close_rel) = rest[open..].find(')') else {
            break;
        };
        let inner = &rest[open + 1..open + close_rel];
        if is_source_list(inner) {
            out.push_str(rest[..open].trim_end_matches(' '));
            rest = &rest[open + close_rel + 1..];
        } else {
            out.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn is_source_list(inner: &str) -> bool {
    let inner = inner
        .trim()
        .strip_prefix("reference ")
        .or_else(|| inner.trim().strip_prefix("see "))
        .unwrap_or(inner.trim());
    !inner.is_empty()
        && inner.split([',', ';']).all(|part| {
            let p = part.trim();
            let p = p.strip_prefix("reference ").unwrap_or(p);
            p.len() == 3 && crate::catalog::sources::is_defined(p)
        })
}

/// Rewrite the `YYYY-MM-DD HH:MM:SS UTC` times the rules write into their text in the output
/// zone (unchanged in UTC).
pub fn retime(text: &str, tz: &super::tz::OutputTz) -> String {
    if tz.is_utc() {
        return text.to_string();
    }
    const PAT: usize = "2024-03-04 08:02:12 UTC".len();
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i + PAT <= b.len() {
        if !(text.is_char_boundary(i) && text.is_char_boundary(i + PAT)) {
            i += 1;
            continue;
        }
        let cand = &text[i..i + PAT];
        if looks_like_time(cand) {
            let iso = format!("{}T{}Z", &cand[..10], &cand[11..19]);
            if let Ok(t) = iso.parse::<jiff::Timestamp>() {
                out.push_str(&text[last..i]);
                out.push_str(&tz.format_short(t));
                i += PAT;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    out
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |k: usize| b[k].is_ascii_digit();
    [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .iter()
        .all(|&k| digit(k))
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && &s[19..] == " UTC"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_breaks_long_words() {
        assert_eq!(wrap("a bb ccc", 4, true), vec!["a bb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4, true), vec!["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap("RDS-LIC-NO-SERVER x", 5, false),
            vec!["RDS-LIC-NO-SERVER", "x"]
        );
        assert_eq!(wrap("a  b", 0, true), vec!["a b"]);
        assert_eq!(wrap("a  b  c", 5, true), vec!["a  b", "c"]);
        assert_eq!(
            retime(
                "×6 at 2024-03-04 08:02:12 UTC ×",
                &super::super::tz::OutputTz::parse("+01:00").unwrap()
            ),
            "×6 at 2024-03-04 09:02:12 +01:00 ×"
        );
        let f = fill("one two three four five six seven", 24, "  - ", "    ");
        assert_eq!(f, "  - one two three four\n    five six seven\n");
        for l in fill(&"x/".repeat(100), 30, "  ", "    ").lines() {
            assert!(l.chars().count() <= 30, "{l}");
        }
    }

    #[test]
    fn source_tags_are_removed_and_other_parentheses_kept() {
        assert_eq!(
            without_source_tags("override Server Manager (S14)"),
            "override Server Manager"
        );
        assert_eq!(
            without_source_tags("paths containing `x/` (reference S37))"),
            "paths containing `x/`)"
        );
        assert_eq!(without_source_tags("a (S14, S54) b"), "a b");
        assert_eq!(
            without_source_tags("Per User (4) (from policy)"),
            "Per User (4) (from policy)"
        );
        assert_eq!(without_source_tags("(Sx) (S1)"), "(Sx) (S1)");
        assert_eq!(elide("abcdef", 4), "abc…");
    }

    #[test]
    fn rule_times_follow_the_zone() {
        let tz = super::super::tz::OutputTz::parse("+02:00").unwrap();
        assert_eq!(
            retime("between 2024-03-04 08:02:12 UTC and now", &tz),
            "between 2024-03-04 10:02:12 +02:00 and now"
        );
        assert_eq!(
            retime(
                "at 2024-03-04 08:02:12 UTC",
                &super::super::tz::OutputTz::utc()
            ),
            "at 2024-03-04 08:02:12 UTC"
        );
    }
}
