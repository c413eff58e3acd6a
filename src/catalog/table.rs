//! The one strict loader of the embedded TSV tables (`catalog/*.tsv`, `timeline/roles.tsv`,
//! `diagnose/rules/licensing_evidence.tsv`).
//!
//! Each table declares its [`Schema`] once: its file name, its columns in order and the columns
//! that must be unique together. The loader applies the same rules to every table:
//! - lines starting with `#` and blank lines are comments;
//! - the first other line is the header and must be exactly the declared columns (an unknown,
//!   missing, repeated or reordered column is an error naming the table and the column);
//! - every row has exactly the declared number of tab-separated cells, none empty and none with
//!   surrounding spaces (`-` means none);
//! - key columns are unique (compared ASCII case-insensitively, numbers without leading zeros).
//!
//! Rows give typed access to their cells by column name, with errors naming table, line and
//! column. What a cell must mean beyond that (a keyword, a cross-reference) is checked by the
//! table's own module through the same [`TableError`].

use std::collections::HashMap;
use std::hash::Hash;
use std::str::FromStr;

/// A table's declaration: file name, columns in order, unique keys.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The file name used in messages (`events.tsv`).
    pub table: &'static str,
    /// The header, in order.
    pub columns: &'static [&'static str],
    /// Column sets whose values must be unique together, each with the word used in messages.
    pub keys: &'static [Key],
}

/// Columns that must be unique together.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// What a duplicate is called in messages (`setting`, `build`, `row for provider and event`).
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// A problem in an embedded table, naming the table, the line (1-based) and the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("{table}: no header line")]
    NoHeader { table: &'static str },
    #[error(
        "{table} line {line}: unknown column {column:?} in the header (expected {expected:?})"
    )]
    UnknownColumn {
        table: &'static str,
        line: usize,
        column: String,
        expected: String,
    },
    #[error(
        "{table} line {line}: column {column} is missing from the header (expected {expected:?})"
    )]
    MissingColumn {
        table: &'static str,
        line: usize,
        column: &'static str,
        expected: String,
    },
    #[error("{table} line {line}: column {column} appears more than once in the header")]
    RepeatedColumn {
        table: &'static str,
        line: usize,
        column: &'static str,
    },
    #[error("{table} line {line}: column {column} is out of order in the header (expected {expected:?})")]
    ColumnOrder {
        table: &'static str,
        line: usize,
        column: &'static str,
        expected: String,
    },
    #[error("{table} line {line}: expected {expected} tab-separated columns, found {found}")]
    ColumnCount {
        table: &'static str,
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("{table} line {line}: column {column}: {message}")]
    Value {
        table: &'static str,
        line: usize,
        column: &'static str,
        message: String,
    },
    #[error("{table} line {line}: duplicate {key} {value} (first on line {first})")]
    Duplicate {
        table: &'static str,
        line: usize,
        first: usize,
        key: &'static str,
        value: String,
    },
    /// A problem of a row as a whole (columns that disagree, order between rows).
    #[error("{table} line {line}: {message}")]
    Row {
        table: &'static str,
        line: usize,
        message: String,
    },
    /// A problem of the table as a whole (a setting without a default row).
    #[error("{table}: {message}")]
    Table {
        table: &'static str,
        message: String,
    },
}

/// One data row: its line and its cells, read by column name.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    schema: &'static Schema,
    pub line: usize,
    cells: Vec<&'a str>,
}

impl<'a> Row<'a> {
    fn index(&self, column: &str) -> usize {
        self.schema
            .columns
            .iter()
            .position(|c| *c == column)
            .unwrap_or_else(|| {
                panic!(
                    "{} has no column {column:?} (a defect of its loader)",
                    self.schema.table
                )
            })
    }

    fn column(&self, column: &str) -> &'static str {
        self.schema.columns[self.index(column)]
    }

    /// The cell of `column`, as written.
    pub fn str(&self, column: &str) -> &'a str {
        self.cells[self.index(column)]
    }

    /// The cell of `column`, `None` when it is `-`.
    pub fn opt(&self, column: &str) -> Option<&'a str> {
        Some(self.str(column)).filter(|c| *c != "-")
    }

    /// The comma-separated items of `column` (trimmed, empty items dropped); `-` is none.
    pub fn list(&self, column: &str) -> Vec<&'a str> {
        match self.opt(column) {
            None => Vec::new(),
            Some(cell) => cell
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .collect(),
        }
    }

    /// The cell of `column` parsed as a `T`; `what` names the expected form in the error
    /// (`"a 16-bit number"`).
    pub fn parse<T: FromStr>(&self, column: &str, what: &str) -> Result<T, TableError> {
        let cell = self.str(column);
        cell.parse()
            .map_err(|_| self.error(column, format!("{cell:?} is not {what}")))
    }

    /// `yes` or `no`.
    pub fn yes_no(&self, column: &str) -> Result<bool, TableError> {
        match self.str(column) {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(self.error(column, format!("must be yes or no, found {other:?}"))),
        }
    }

    /// One of the keywords of `words`.
    pub fn keyword<T: Copy>(&self, column: &str, words: &[(&str, T)]) -> Result<T, TableError> {
        let cell = self.str(column);
        words
            .iter()
            .find(|(n, _)| *n == cell)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                self.error(
                    column,
                    format!(
                        "unknown {column} {cell:?}; expected one of: {}",
                        words.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ),
                )
            })
    }

    /// An error about the value in `column` of this row.
    pub fn error(&self, column: &str, message: impl Into<String>) -> TableError {
        TableError::Value {
            table: self.schema.table,
            line: self.line,
            column: self.column(column),
            message: message.into(),
        }
    }

    /// An error about this row as a whole.
    pub fn row_error(&self, message: impl Into<String>) -> TableError {
        TableError::Row {
            table: self.schema.table,
            line: self.line,
            message: message.into(),
        }
    }

    /// A duplicate of an earlier row (`first`) found by the table's own check.
    pub fn duplicate(&self, first: usize, key: &'static str, value: String) -> TableError {
        TableError::Duplicate {
            table: self.schema.table,
            line: self.line,
            first,
            key,
            value,
        }
    }
}

impl Schema {
    /// An error about the table as a whole.
    pub fn error(&'static self, message: impl Into<String>) -> TableError {
        TableError::Table {
            table: self.table,
            message: message.into(),
        }
    }

    /// The data rows of `text`, checked against this schema.
    pub fn rows<'a>(&'static self, text: &'a str) -> Result<Vec<Row<'a>>, TableError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
        let (header_line, header) = lines
            .next()
            .ok_or(TableError::NoHeader { table: self.table })?;
        self.check_header(header_line, header)?;
        let mut keys: Vec<HashMap<Vec<String>, usize>> = vec![HashMap::new(); self.keys.len()];
        let mut rows = Vec::new();
        for (line, text) in lines {
            let row = self.row(line, text)?;
            for (key, seen) in self.keys.iter().zip(keys.iter_mut()) {
                let value: Vec<String> = key.columns.iter().map(|c| key_text(row.str(c))).collect();
                if let Some(&first) = seen.get(&value) {
                    let shown = key.columns.iter().map(|c| row.str(c)).collect::<Vec<_>>();
                    return Err(row.duplicate(first, key.name, shown.join(" ")));
                }
                seen.insert(value, line);
            }
            rows.push(row);
        }
        Ok(rows)
    }

    fn check_header(&self, line: usize, header: &str) -> Result<(), TableError> {
        let found: Vec<&str> = header.split('\t').collect();
        if found == self.columns {
            return Ok(());
        }
        let expected = self.columns.join("\t");
        if let Some(column) = found.iter().find(|c| !self.columns.contains(c)) {
            return Err(TableError::UnknownColumn {
                table: self.table,
                line,
                column: column.to_string(),
                expected,
            });
        }
        if let Some(column) = self.columns.iter().find(|c| !found.contains(c)) {
            return Err(TableError::MissingColumn {
                table: self.table,
                line,
                column,
                expected,
            });
        }
        if let Some(column) = self
            .columns
            .iter()
            .find(|c| found.iter().filter(|f| f == c).count() > 1)
        {
            return Err(TableError::RepeatedColumn {
                table: self.table,
                line,
                column,
            });
        }
        let column = self
            .columns
            .iter()
            .zip(&found)
            .find(|(want, got)| want != got)
            .map_or(self.columns[0], |(want, _)| *want);
        Err(TableError::ColumnOrder {
            table: self.table,
            line,
            column,
            expected,
        })
    }

    fn row<'a>(&'static self, line: usize, text: &'a str) -> Result<Row<'a>, TableError> {
        let cells: Vec<&str> = text.split('\t').collect();
        if cells.len() != self.columns.len() {
            return Err(TableError::ColumnCount {
                table: self.table,
                line,
                expected: self.columns.len(),
                found: cells.len(),
            });
        }
        let row = Row {
            schema: self,
            line,
            cells,
        };
        if let Some((column, _)) = self
            .columns
            .iter()
            .zip(&row.cells)
            .find(|(_, c)| c.trim().is_empty() || c.trim() != **c)
        {
            return Err(row.error(column, "empty or has surrounding spaces (write - for none)"));
        }
        Ok(row)
    }
}

/// A key cell as compared: ASCII case folded, a decimal number without leading zeros.
fn key_text(cell: &str) -> String {
    if !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit()) {
        let digits = cell.trim_start_matches('0');
        return if digits.is_empty() { "0" } else { digits }.to_string();
    }
    cell.to_ascii_lowercase()
}

/// Values a table's own check keeps unique beyond its key columns (the raw IDs of the event
/// catalogue): remembers the line each value was first seen on.
#[derive(Debug)]
pub struct Seen<K>(HashMap<K, usize>);

impl<K: Eq + Hash> Default for Seen<K> {
    fn default() -> Self {
        Seen(HashMap::new())
    }
}

impl<K: Eq + Hash> Seen<K> {
    /// Record `key` for `row`; a duplicate of an earlier row is an error naming both lines.
    pub fn insert(
        &mut self,
        row: &Row<'_>,
        key: K,
        what: &'static str,
        shown: impl FnOnce() -> String,
    ) -> Result<(), TableError> {
        if let Some(&first) = self.0.get(&key) {
            return Err(row.duplicate(first, what, shown()));
        }
        self.0.insert(key, row.line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: Schema = Schema {
        table: "t.tsv",
        columns: &["name", "id", "flag"],
        keys: &[Key {
            name: "name and id",
            columns: &["name", "id"],
        }],
    };

    #[test]
    fn reads_rows_by_column_and_skips_comments() {
        let rows = T
            .rows("# comment\n\nname\tid\tflag\n# more\na\t7\tyes\r\nb\t8\t-\n")
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 5);
        assert_eq!(rows[0].str("name"), "a");
        assert_eq!(rows[0].parse::<u16>("id", "a number"), Ok(7));
        assert_eq!(rows[0].yes_no("flag"), Ok(true));
        assert_eq!(rows[1].opt("flag"), None);
        assert_eq!(
            rows[1].keyword("name", &[("a", 1), ("b", 2)]),
            Ok(2),
            "keywords"
        );
    }

    #[test]
    fn bad_header_names_the_column() {
        let e = T.rows("name\tid\tflag\textra\n").unwrap_err();
        assert!(
            matches!(&e, TableError::UnknownColumn { table: "t.tsv", line: 1, column, .. } if column == "extra"),
            "{e}"
        );
        let e = T.rows("# c\nname\tflag\n").unwrap_err();
        assert!(
            matches!(
                e,
                TableError::MissingColumn {
                    line: 2,
                    column: "id",
                    ..
                }
            ),
            "{e}"
        );
        let e = T.rows("name\tflag\tid\n").unwrap_err();
        assert!(
            matches!(e, TableError::ColumnOrder { column: "id", .. }),
            "{e}"
        );
        let e = T.rows("name\tid\tflag\tid\n").unwrap_err();
        assert!(
            matches!(e, TableError::RepeatedColumn { column: "id", .. }),
            "{e}"
        );
        assert_eq!(
            T.rows("# only comments\n\n").unwrap_err(),
            TableError::NoHeader { table: "t.tsv" }
        );
        assert!(e.to_string().starts_with("t.tsv line 1:"), "{e}");
    }

    #[test]
    fn short_long_and_blank_cells_are_errors() {
        let e = T.rows("name\tid\tflag\na\t1\n").unwrap_err();
        assert_eq!(
            e,
            TableError::ColumnCount {
                table: "t.tsv",
                line: 2,
                expected: 3,
                found: 2
            }
        );
        assert!(matches!(
            T.rows("name\tid\tflag\na\t1\tyes\tx\n").unwrap_err(),
            TableError::ColumnCount { found: 4, .. }
        ));
        for row in ["a\t\tyes", "a\t 1\tyes", "a\t1\tyes "] {
            let e = T.rows(&format!("name\tid\tflag\n{row}\n")).unwrap_err();
            assert!(
                matches!(e, TableError::Value { line: 2, .. }),
                "{row:?}: {e}"
            );
        }
    }

    #[test]
    fn typed_access_errors_name_table_line_and_column() {
        let rows = T.rows("name\tid\tflag\na\tx\tmaybe\n").unwrap();
        let e = rows[0].parse::<u16>("id", "a number").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.tsv line 2: column id: \"x\" is not a number"
        );
        let e = rows[0].yes_no("flag").unwrap_err();
        assert!(
            matches!(
                &e,
                TableError::Value {
                    column: "flag",
                    line: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = rows[0].keyword("name", &[("b", ())]).unwrap_err();
        assert!(e.to_string().contains("unknown name \"a\""), "{e}");
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let e = T
            .rows("name\tid\tflag\na\t1\tyes\nb\t1\tyes\nA\t01\tno\n")
            .unwrap_err();
        assert_eq!(
            e,
            TableError::Duplicate {
                table: "t.tsv",
                line: 4,
                first: 2,
                key: "name and id",
                value: "A 01".into()
            }
        );
        let rows = T.rows("name\tid\tflag\na\t1\tyes\nb\t1\tyes\n").unwrap();
        let mut seen = Seen::default();
        seen.insert(&rows[0], 1, "id", || "1".into()).unwrap();
        let e = seen.insert(&rows[1], 1, "id", || "1".into()).unwrap_err();
        assert!(matches!(
            e,
            TableError::Duplicate {
                first: 2,
                line: 3,
                ..
            }
        ));
    }
}
