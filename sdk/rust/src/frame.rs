//! Column helpers: read a column as a slice in one line, build an output
//! frame in one line.

use crate::{Column, ColumnData, DataType, Frame, ModelError};

impl ColumnData {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::F64(v) => v.len(),
            ColumnData::S64(v) => v.len(),
            ColumnData::String(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type of the values.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnData::F64(_) => DataType::F64,
            ColumnData::S64(_) => DataType::S64,
            ColumnData::String(_) => DataType::String,
            ColumnData::Bool(_) => DataType::Bool,
        }
    }
}

impl Column {
    /// A column of `f64` values, every row present.
    pub fn f64(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column { name: name.into(), data: ColumnData::F64(values), validity: None }
    }

    /// A column of `s64` values, every row present.
    pub fn s64(name: impl Into<String>, values: Vec<i64>) -> Self {
        Column { name: name.into(), data: ColumnData::S64(values), validity: None }
    }

    /// A column of strings, every row present.
    pub fn string(name: impl Into<String>, values: Vec<String>) -> Self {
        Column { name: name.into(), data: ColumnData::String(values), validity: None }
    }

    /// A column of booleans, every row present.
    pub fn bool(name: impl Into<String>, values: Vec<bool>) -> Self {
        Column { name: name.into(), data: ColumnData::Bool(values), validity: None }
    }

    /// Marks which rows are present.
    pub fn with_validity(mut self, validity: Validity) -> Self {
        self.validity = validity.into_bitmap();
        self
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether row `row` holds a value (rows past the end do not).
    pub fn is_valid(&self, row: usize) -> bool {
        if row >= self.len() {
            return false;
        }
        match &self.validity {
            None => true,
            Some(bits) => bits.get(row / 8).is_some_and(|b| b & (1 << (row % 8)) != 0),
        }
    }

    /// Whether every row holds a value.
    pub fn all_valid(&self) -> bool {
        (0..self.len()).all(|row| self.is_valid(row))
    }
}

impl Default for Frame {
    fn default() -> Self {
        Frame { columns: Vec::new() }
    }
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame with one `f64` column.
    pub fn from_f64(name: impl Into<String>, values: Vec<f64>) -> Self {
        Frame::new().with(Column::f64(name, values))
    }

    /// Adds a column.
    pub fn with(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// The number of rows (that of the first column; 0 without columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The column called `name`, or a `bad-input` error naming it.
    pub fn column(&self, name: &str) -> Result<&Column, ModelError> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let have: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            ModelError::bad_input(format!(
                "missing column `{name}` (the request has: {})",
                if have.is_empty() { "no columns".to_string() } else { have.join(", ") }
            ))
        })
    }

    /// The `f64` values of column `name`.
    pub fn f64(&self, name: &str) -> Result<&[f64], ModelError> {
        let column = self.column(name)?;
        match &column.data {
            ColumnData::F64(v) => Ok(v),
            other => Err(wrong_type(name, DataType::F64, other)),
        }
    }

    /// The `s64` values of column `name`.
    pub fn s64(&self, name: &str) -> Result<&[i64], ModelError> {
        let column = self.column(name)?;
        match &column.data {
            ColumnData::S64(v) => Ok(v),
            other => Err(wrong_type(name, DataType::S64, other)),
        }
    }

    /// The strings of column `name`.
    pub fn strings(&self, name: &str) -> Result<&[String], ModelError> {
        let column = self.column(name)?;
        match &column.data {
            ColumnData::String(v) => Ok(v),
            other => Err(wrong_type(name, DataType::String, other)),
        }
    }

    /// The booleans of column `name`.
    pub fn bools(&self, name: &str) -> Result<&[bool], ModelError> {
        let column = self.column(name)?;
        match &column.data {
            ColumnData::Bool(v) => Ok(v),
            other => Err(wrong_type(name, DataType::Bool, other)),
        }
    }
}

fn type_name(ty: DataType) -> &'static str {
    match ty {
        DataType::F64 => "f64",
        DataType::S64 => "s64",
        DataType::String => "string",
        DataType::Bool => "bool",
    }
}

fn wrong_type(name: &str, want: DataType, got: &ColumnData) -> ModelError {
    ModelError::bad_input(format!(
        "column `{name}` holds {} values, expected {}",
        type_name(got.data_type()),
        type_name(want)
    ))
}

/// Builds a validity bitmap: which rows of a column hold a value.
#[derive(Debug, Clone, Default)]
pub struct Validity {
    bits: Vec<u8>,
    rows: usize,
    missing: usize,
}

impl Validity {
    /// A bitmap for `rows` rows where `present(row)` tells which hold a value.
    pub fn from_fn(rows: usize, mut present: impl FnMut(usize) -> bool) -> Self {
        let mut bits = vec![0u8; rows.div_ceil(8)];
        let mut missing = 0;
        for row in 0..rows {
            if present(row) {
                bits[row / 8] |= 1 << (row % 8);
            } else {
                missing += 1;
            }
        }
        Validity { bits, rows, missing }
    }

    /// The number of rows the bitmap covers.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The bitmap to send, or `None` when every row is present.
    pub fn into_bitmap(self) -> Option<Vec<u8>> {
        (self.missing > 0).then_some(self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_round_trips_through_a_column() {
        let validity = Validity::from_fn(10, |row| row != 3 && row != 9);
        let column = Column::f64("x", vec![0.0; 10]).with_validity(validity);
        let present: Vec<bool> = (0..10).map(|row| column.is_valid(row)).collect();
        assert_eq!(present, [true, true, true, false, true, true, true, true, true, false]);
        assert!(!column.is_valid(10), "rows past the end are not valid");
        assert!(!column.all_valid());
    }

    #[test]
    fn a_full_bitmap_is_sent_as_none() {
        let column = Column::f64("x", vec![1.0; 9]).with_validity(Validity::from_fn(9, |_| true));
        assert!(column.validity.is_none());
        assert!(column.all_valid());
    }

    #[test]
    fn reading_a_missing_or_mistyped_column_names_it() {
        let frame = Frame::new().with(Column::s64("DEPTH", vec![1, 2]));
        let missing = frame.f64("ACS").err().map(|e| e.message).unwrap_or_default();
        assert_eq!(missing, "missing column `ACS` (the request has: DEPTH)");
        let mistyped = frame.f64("DEPTH").err().map(|e| e.message).unwrap_or_default();
        assert_eq!(mistyped, "column `DEPTH` holds s64 values, expected f64");
        assert_eq!(frame.s64("DEPTH").ok(), Some(&[1i64, 2][..]));
    }
}
