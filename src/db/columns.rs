//! Column adapters between MLflow's schema and Harvester's rows. MLflow declares most columns nullable
//! (older MLflow versions left them empty, and its upgrades added columns with NULLs in existing rows) and
//! keeps some ids as 32-bit `INTEGER`s; rows read them as the plain values the domain works with.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text};

/// A value read through [`FromSql`] and handed to a row field with `#[diesel(deserialize_as = Col<T>)]`:
/// NULL becomes `T::default()` (0, "", 0.0), a 32-bit integer widens to i64.
#[derive(Debug, Clone, Default, FromSqlRow)]
pub struct Col<T>(pub T);

macro_rules! nullable_or_default {
    ($($st:ty => $t:ty),*) => {$(
        impl<DB: Backend> FromSql<Nullable<$st>, DB> for Col<$t>
        where
            $t: FromSql<$st, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                <$t as FromSql<$st, DB>>::from_sql(bytes).map(Col)
            }
            fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
                match bytes {
                    Some(b) => <Self as FromSql<Nullable<$st>, DB>>::from_sql(b),
                    None => Ok(Col(<$t>::default())),
                }
            }
        }
        impl From<Col<$t>> for $t {
            fn from(c: Col<$t>) -> $t {
                c.0
            }
        }
    )*};
}

nullable_or_default!(BigInt => i64, Text => String, Double => f64);

impl<DB: Backend> FromSql<Integer, DB> for Col<i64>
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <i32 as FromSql<Integer, DB>>::from_sql(bytes).map(|v| Col(v.into()))
    }
}

impl<DB: Backend> FromSql<Nullable<Integer>, DB> for Col<i64>
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <i32 as FromSql<Integer, DB>>::from_sql(bytes).map(|v| Col(v.into()))
    }
    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(b) => <Self as FromSql<Nullable<Integer>, DB>>::from_sql(b),
            None => Ok(Col(0)),
        }
    }
}

/// An i64 id or version written to one of MLflow's 32-bit `INTEGER` columns
/// (experiment ids, version numbers), as `#[diesel(serialize_as = Int32)]` or `col.eq(Int32::from(id))`.
/// A value beyond the 32-bit range saturates to its bound, which no real id reaches, so looking up an id
/// no such column can hold finds nothing.
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = Integer)]
pub struct Int32(pub i32);

impl From<i64> for Int32 {
    fn from(v: i64) -> Int32 {
        Int32(v.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
    }
}

impl<DB: Backend> ToSql<Integer, DB> for Int32
where
    i32: ToSql<Integer, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <i32 as ToSql<Integer, DB>>::to_sql(&self.0, out)
    }
}
