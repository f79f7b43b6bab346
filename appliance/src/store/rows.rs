//! Multi-row statements: one `INSERT ... VALUES (...), (...)` per table and batch instead of
//! one statement per row, cut to stay under each backend's limit of bind parameters.
//!
//! Every parameter of such a statement appears once, in bind order (values every row shares,
//! the scan or the time, are bound again for each row): see [`Backend::param`].

use super::Backend;

/// `template` repeated `rows` times, comma-separated, each `?` in it replaced by the next
/// parameter from number `first` on: on PostgreSQL `values(pg, "(?, 'open', ?)", 2, 2)` is
/// `($2, 'open', $3), ($4, 'open', $5)`.
pub(crate) fn values(backend: Backend, template: &str, rows: usize, first: usize) -> String {
    let mut out = String::with_capacity(rows * (template.len() + 8));
    let mut next = first;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        for c in template.chars() {
            if c == '?' {
                out.push_str(&backend.param(next));
                next += 1;
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// How many rows of `per_row` parameters one statement of `backend` carries besides
/// `shared` parameters: as many as its bind limit allows (at least one).
pub(crate) fn rows_per_statement(backend: Backend, shared: usize, per_row: usize) -> usize {
    (backend.max_binds().saturating_sub(shared) / per_row.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_after_the_shared_parameters() {
        let pg = Backend::Postgres;
        assert_eq!(values(pg, "(?, 'open', ?)", 2, 2), "($2, 'open', $3), ($4, 'open', $5)");
        assert_eq!(values(pg, "?", 3, 2), "$2, $3, $4");
        assert_eq!(values(pg, "(?, ?)", 0, 1), "");
        assert_eq!(values(Backend::Sqlite, "(?, 'open')", 2, 2), "(?, 'open'), (?, 'open')");
    }

    #[test]
    fn statements_stay_under_each_backends_bind_limit() {
        // SQLite's SQLITE_MAX_VARIABLE_NUMBER (32,766 since 3.32), PostgreSQL's Int16 count.
        // The most rows of 17 that fit: 1,927 x 17 = 32,759 and 3,855 x 17 = 65,535.
        assert_eq!(rows_per_statement(Backend::Sqlite, 0, 17), 1927);
        assert_eq!(rows_per_statement(Backend::Postgres, 0, 17), 3855);
        assert_eq!(rows_per_statement(Backend::Postgres, 1, 1), 65_534);
    }
}
