//! Records for `quire.pack` and `Writer.add_record`: Python dicts (or JSONL lines) made into
//! entries by the library's JSONL codec, `quire::jsonl` (spec §9), so that Python and
//! `quire pack` read records the same way. Only what JSON cannot hold is handled here: a
//! body given as bytes or a file object, and a date given as a `datetime.date`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};
use quire::jsonl::{self, Line};
use serde_json::{Map, Number, Value};

/// How deep a record's values may nest (serde_json's limit when it parses a line).
const MAX_DEPTH: usize = 128;

/// What one record gave: a line of the codec, and the body when it is a Python object that
/// is not JSON (bytes-like or a binary file object).
pub(crate) struct Parsed<'py> {
    pub(crate) line: Line,
    pub(crate) body: Option<Bound<'py, PyAny>>,
}

/// A JSON value for a Python value of a record's field `field`.
fn to_value(v: &Bound<'_, PyAny>, field: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "field {field:?} nests more than {MAX_DEPTH} levels deep"
        )));
    }
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = v.extract::<u64>() {
            return Ok(Value::from(u));
        }
        // Beyond 64 bits: the nearest binary64, as a JSON line's number would be (§9).
        let f: f64 = v
            .call_method0("__float__")
            .and_then(|f| f.extract())
            .map_err(|_| {
                PyValueError::new_err(format!("field {field:?}: the integer is too large"))
            })?;
        return float(f, field);
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return float(f.value(), field);
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, x) in d.iter() {
            let k = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!("field {field:?}: dict keys must be str"))
            })?;
            m.insert(k.to_cow()?.into_owned(), to_value(&x, field, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items = v
            .try_iter()?
            .map(|x| to_value(&x?, field, depth + 1))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "field {field:?}: a {} is not a JSON value (str, int, float, bool, None, list, tuple \
         or dict)",
        v.get_type().name()?
    )))
}

fn float(f: f64, field: &str) -> PyResult<Value> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        PyValueError::new_err(format!(
            "field {field:?}: {f} is not a JSON number (JSON has no NaN or infinity)"
        ))
    })
}

/// Whether a body value is one that JSON cannot hold: bytes-like or a file object.
fn is_binary_body(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyByteArray>()
        || v.is_instance_of::<PyMemoryView>()
        || (!v.is_instance_of::<PyString>() && !v.is_none() && v.hasattr("read")?))
}

/// `YYYY-MM-DD` for a `datetime.date` (or anything with `year`, `month` and `day`).
fn date_text(d: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let part = |name: &str| -> Option<i64> { d.getattr(name).ok()?.extract().ok() };
    Ok(match (part("year"), part("month"), part("day")) {
        (Some(y), Some(m), Some(day)) => Some(format!("{y:04}-{m:02}-{day:02}")),
        _ => None,
    })
}

/// Parses one record: a mapping shaped like a JSONL line, or a JSONL line itself (`str` or
/// `bytes`). `None` for a blank line. Errors say what is wrong; the caller adds which
/// record.
pub(crate) fn parse<'py>(record: &Bound<'py, PyAny>) -> PyResult<Option<Parsed<'py>>> {
    if let Ok(s) = record.cast::<PyString>() {
        return parse_text(&s.to_cow()?);
    }
    if let Ok(b) = record.cast::<PyBytes>() {
        let s = std::str::from_utf8(b.as_bytes())
            .map_err(|e| PyValueError::new_err(format!("the line is not UTF-8: {e}")))?;
        return parse_text(s);
    }
    let items = record
        .call_method0("items")
        .ok()
        .filter(|_| !record.is_instance_of::<PyList>())
        .ok_or_else(|| {
            let name = record
                .get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string());
            PyTypeError::new_err(format!(
                "a record must be a dict (or a JSONL line as str or bytes), not {name}"
            ))
        })?;
    let mut obj = Map::new();
    let mut body = None;
    for item in items.try_iter()? {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        let k = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("a record's field names must be str"))?
            .to_cow()?
            .into_owned();
        if k == "body" && is_binary_body(&v)? {
            body = Some(v);
            continue;
        }
        let value = if k == "date" && !v.is_none() && !v.is_instance_of::<PyString>() {
            match date_text(&v)? {
                Some(d) => Value::String(d),
                None => to_value(&v, &k, 0)?,
            }
        } else {
            to_value(&v, &k, 0)?
        };
        obj.insert(k, value);
    }
    if body.is_some() && obj.get("body_base64").is_some_and(|b| !b.is_null()) {
        return Err(PyValueError::new_err(
            "the record has both \"body\" and \"body_base64\"",
        ));
    }
    let line = jsonl::parse_object(obj).map_err(|e| PyValueError::new_err(e.to_string()))?;
    if body.is_some() && matches!(line, Line::Archive(_)) {
        return Err(PyValueError::new_err(
            "a record needs a \"key\" (or \"id\") field",
        ));
    }
    Ok(Some(Parsed { line, body }))
}

fn parse_text<'py>(s: &str) -> PyResult<Option<Parsed<'py>>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let line = jsonl::parse_line(s).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(Some(Parsed { line, body: None }))
}

/// Prefixes an error's message with the record it is about (`record 3: ...`), keeping its
/// type.
pub(crate) fn at_record(py: Python<'_>, n: u64, e: PyErr) -> PyErr {
    let is_type = e.is_instance_of::<PyTypeError>(py);
    let is_value = e.is_instance_of::<PyValueError>(py);
    let msg = format!("record {n}: {}", e.value(py));
    if is_type {
        PyTypeError::new_err(msg)
    } else if is_value {
        PyValueError::new_err(msg)
    } else {
        e
    }
}
