//! Plain-text tables for people (scripts use `--json`).

use std::io::Write;

use chrono::{DateTime, Utc};

/// Writes `rows` under `headers`, columns padded to their widest cell, two spaces apart.
pub(crate) fn write_table(
    out: &mut impl Write,
    headers: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
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
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A time for people: `2026-11-29 10:00:00`, UTC.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Writes `value` as one line of JSON.
pub(crate) fn json_line(
    out: &mut impl Write,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
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
}
