//! Plain-text tables for people (scripts use `--json`): every cell is stored text passed
//! through [`escape_controls`], so a queue name or message holding a newline or a
//! terminal escape (`ESC[2J`) prints as `\n` / `\u{1b}[2J` instead of acting on the
//! terminal. Times print in ONE format, [`time`]: `2026-12-07 04:12:03Z` (UTC).

use std::io::Write;

use chrono::{DateTime, Utc};

use herald_worker::sanitize::escape_controls;
use herald_worker::stored_time::StoredTime;

/// Writes `rows` under `headers`, columns padded to their widest cell, two spaces apart;
/// control characters in cells are escaped.
pub(crate) fn write_table(
    out: &mut impl Write,
    headers: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| text(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Stored text for a line or cell of output: control characters and terminal escapes
/// escaped (`\n`, `\u{1b}`), so it stays on its line and cannot drive the terminal.
pub(crate) fn text(stored: &str) -> String {
    escape_controls(stored).into_owned()
}

/// A time for people, the one format of every table and line: `2026-11-29 10:00:00Z`
/// (UTC, as the `Z` says). `--json` keeps RFC 3339 UTC.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// An optional time for people, `-` when absent.
pub(crate) fn maybe_time(t: Option<StoredTime>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.shown(time))
}

/// The line under a paged table (`jobs list`): how many are shown (of how many, with `--count`)
/// and the cursor of the next page, when there is one.
pub(crate) fn page_footer(shown: usize, next: Option<i64>, total: Option<u64>) -> Option<String> {
    let next = next.map(|id| format!("; next page: --after {id}"));
    match (total, next) {
        (None, None) => None,
        (Some(total), next) => Some(format!(
            "{shown} shown of {total} matching{}",
            next.unwrap_or_default()
        )),
        (None, Some(next)) => Some(format!("first {shown} matching shown{next}")),
    }
}

/// Writes `value` as one line of JSON. JSON already escapes newlines, ESC and every other
/// C0 control character; DEL and the C1 controls (U+0080–U+009F, e.g. the one-character
/// CSI) are escaped here too (`\u009b`), so no stored text reaches the terminal raw.
pub(crate) fn json_line(
    out: &mut impl Write,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    let line = serde_json::to_string(value)?;
    // Outside strings JSON has no such characters, so escaping them keeps it valid.
    if !line.chars().any(char::is_control) {
        return writeln!(out, "{line}");
    }
    let escaped: String = line
        .chars()
        .map(|c| match c {
            c if c.is_control() => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect();
    writeln!(out, "{escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_to_the_widest_cell() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["ID", "STATE"],
            &[
                vec!["1".into(), "dead".into()],
                vec!["1000".into(), "x".into()],
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "ID    STATE\n1     dead\n1000  x\n"
        );
    }

    #[test]
    fn stored_control_characters_in_cells_are_escaped() {
        let mut out = Vec::new();
        write_table(&mut out, &["QUEUE"], &[vec!["a\u{1b}[2J\nb".into()]])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(String::from_utf8_lossy(&out), "QUEUE\na\\u{1b}[2J\\nb\n");
    }

    #[test]
    fn json_lines_carry_no_raw_control_character() {
        let mut out = Vec::new();
        json_line(
            &mut out,
            &serde_json::json!({ "q": "a\u{1b}[2J\n\u{7f}\u{9b}b" }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let line = String::from_utf8_lossy(&out);
        assert_eq!(line, "{\"q\":\"a\\u001b[2J\\n\\u007f\\u009bb\"}\n");
        let back: serde_json::Value =
            serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["q"], "a\u{1b}[2J\n\u{7f}\u{9b}b");
    }

    #[test]
    fn times_say_they_are_utc() {
        let t = DateTime::from_timestamp(1_796_617_923, 0).unwrap_or_default();
        assert_eq!(time(t), "2026-12-07 04:32:03Z");
    }

    #[test]
    fn the_footer_gives_the_next_cursor_and_the_count_only_when_asked() {
        assert_eq!(page_footer(3, None, None), None);
        assert_eq!(
            page_footer(2, Some(41), None).as_deref(),
            Some("first 2 matching shown; next page: --after 41")
        );
        assert_eq!(
            page_footer(2, Some(41), Some(9)).as_deref(),
            Some("2 shown of 9 matching; next page: --after 41")
        );
        assert_eq!(
            page_footer(2, None, Some(2)).as_deref(),
            Some("2 shown of 2 matching")
        );
    }
}
