//! Batch `INSERT`s as cached prepared statements. Rows go in fixed-size chunks of 256, 32, 4, then single
//! rows, so a table has at most four statement shapes in a connection's statement cache whatever the batch
//! sizes are. (`sql_query` statements are never cached: re-parsing a one-off 1000-row `VALUES` list was 12%
//! of the server's CPU in a 1000-metric log-batch profile.)

use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};
use diesel::{PgConnection, QueryResult, RunQueryDsl, SqliteConnection};

use crate::search::Bind;

/// Rows per statement, largest first (9 metric columns × 256 rows stays far below both backends' bind limits).
const SHAPES: [usize; 4] = [256, 32, 4, 1];

/// `INSERT INTO <table> (<cols>) VALUES (…), … <tail>` over one chunk of rows.
struct Insert<'a> {
    table: &'a str,
    cols: &'a [&'a str],
    rows: &'a [Vec<Bind>],
    tail: &'a str,
}

impl QueryId for Insert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for Insert<'_> {}

macro_rules! impl_insert_fragment {
    ($($db:ty),*) => {$(
        impl QueryFragment<$db> for Insert<'_> {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                out.push_sql("INSERT INTO ");
                out.push_sql(self.table);
                out.push_sql(" (");
                for (i, c) in self.cols.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(", ");
                    }
                    out.push_sql(c);
                }
                out.push_sql(") VALUES ");
                for (i, row) in self.rows.iter().enumerate() {
                    out.push_sql(if i > 0 { ", (" } else { "(" });
                    for (j, b) in row.iter().enumerate() {
                        if j > 0 {
                            out.push_sql(", ");
                        }
                        match b {
                            Bind::Text(s) => out.push_bind_param::<Text, String>(s)?,
                            Bind::OptText(s) => out.push_bind_param::<Nullable<Text>, Option<String>>(s)?,
                            Bind::Int(v) => out.push_bind_param::<BigInt, i64>(v)?,
                            Bind::Float(v) => out.push_bind_param::<Double, f64>(v)?,
                            Bind::Bool(v) => out.push_bind_param::<Bool, bool>(v)?,
                        }
                    }
                    out.push_sql(")");
                }
                out.push_sql(" ");
                out.push_sql(self.tail);
                Ok(())
            }
        }
    )*};
}

impl_insert_fragment!(diesel::sqlite::Sqlite, diesel::pg::Pg);

/// Insert `rows` (each with one bind per column of `cols`); `tail` is an `ON CONFLICT …` clause, which has
/// the same syntax on both backends. Returns the number of rows the database reports as inserted.
pub trait InsertRows {
    fn insert_rows(
        &mut self,
        table: &str,
        cols: &[&str],
        rows: &[Vec<Bind>],
        tail: &str,
    ) -> QueryResult<usize>;
}

macro_rules! impl_insert_rows {
    ($($conn:ty),*) => {$(
        impl InsertRows for $conn {
            fn insert_rows(&mut self, table: &str, cols: &[&str], rows: &[Vec<Bind>], tail: &str) -> QueryResult<usize> {
                let (mut n, mut rest) = (0, rows);
                for size in SHAPES {
                    let mut chunks = rest.chunks_exact(size);
                    for chunk in chunks.by_ref() {
                        n += Insert { table, cols, rows: chunk, tail }.execute(self)?;
                    }
                    rest = chunks.remainder();
                }
                Ok(n)
            }
        }
    )*};
}

impl_insert_rows!(SqliteConnection, PgConnection);
