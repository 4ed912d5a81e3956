//! Reading one field of a stage result without building its JSON: a `serde::Serializer`
//! that walks the result as it serializes itself, follows a path (`blobs.0.area`), skips
//! everything off the path and keeps only what it finds at its end — a number, a bool,
//! whether a string equals the one a test wants, or an array's length. `field` and `count`
//! conditions read results this way on every frame with no allocation (serializing to a
//! `serde_json::Value` allocated for every node).
//!
//! Paths follow the JSON the result serializes to: struct fields and map keys by name,
//! sequence items by index, enum variants by their external tag.

use std::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, Serializer};

/// What the end of a path holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Leaf {
    /// The path leads nowhere (a missing field, an index past the end, into a number).
    Missing,
    /// `null` (`None`, unit).
    Null,
    /// A bool.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string (or a unit enum variant); true when it equals the wanted string.
    Str(bool),
    /// An array (sequence, tuple) of this length.
    Len(usize),
    /// An object.
    Object,
}

/// The leaf at `path` in `value`; strings are compared with `want_str`.
pub(crate) fn probe(
    value: &dyn erased_serde::Serialize,
    path: &[String],
    want_str: Option<&str>,
) -> Leaf {
    let mut leaf = Leaf::Missing;
    let _ = erased_serde::serialize(
        value,
        Probe {
            path,
            want_str,
            leaf: &mut leaf,
        },
    );
    leaf
}

/// The probe never fails; this error only satisfies the trait.
#[derive(Debug)]
pub(crate) struct Never;

impl Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: Display>(_: T) -> Self {
        Never
    }
}

/// Compares written text with a string as it is written (no buffer).
struct EqWriter<'a> {
    rest: &'a str,
    ok: bool,
}

impl fmt::Write for EqWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(r) if self.ok => self.rest = r,
            _ => self.ok = false,
        }
        Ok(())
    }
}

fn display_eq(v: &dyn Display, want: &str) -> bool {
    let mut w = EqWriter {
        rest: want,
        ok: true,
    };
    let _ = write!(w, "{v}");
    w.ok && w.rest.is_empty()
}

struct Probe<'a> {
    /// What is left of the path; empty: this value is the target.
    path: &'a [String],
    want_str: Option<&'a str>,
    leaf: &'a mut Leaf,
}

impl<'a> Probe<'a> {
    fn at_target(&self) -> bool {
        self.path.is_empty()
    }

    fn set(self, leaf: Leaf) -> Result<(), Never> {
        if self.at_target() {
            *self.leaf = leaf;
        }
        Ok(())
    }

    fn num(self, v: f64) -> Result<(), Never> {
        self.set(Leaf::Num(v))
    }

    fn compound(self, len: Option<usize>, seq: bool) -> Compound<'a> {
        let target = self.at_target();
        if target && !seq {
            *self.leaf = Leaf::Object;
        }
        Compound {
            want_index: if target || !seq {
                None
            } else {
                self.path[0].parse().ok()
            },
            path: self.path,
            want_str: self.want_str,
            leaf: self.leaf,
            index: 0,
            counting: target && seq,
            key_hit: false,
            len,
        }
    }

    /// An externally tagged variant `{variant: …}`: at the target an object; on the path
    /// only when the path names the variant (then the rest of the path goes inside).
    /// Otherwise the leaf is handed back, for a compound that looks at nothing.
    fn variant(self, variant: &str) -> Result<Probe<'a>, &'a mut Leaf> {
        if self.at_target() {
            *self.leaf = Leaf::Object;
            return Err(self.leaf);
        }
        if self.path[0] != variant {
            return Err(self.leaf);
        }
        Ok(Probe {
            path: &self.path[1..],
            want_str: self.want_str,
            leaf: self.leaf,
        })
    }

    /// The compound inside a tuple or struct variant.
    fn variant_compound(self, variant: &str, len: Option<usize>, seq: bool) -> Compound<'a> {
        match self.variant(variant) {
            Ok(inner) => inner.compound(len, seq),
            Err(leaf) => Compound::off_path(leaf),
        }
    }
}

/// Sequences, tuples, structs, maps and variants under the probe.
struct Compound<'a> {
    path: &'a [String],
    want_str: Option<&'a str>,
    leaf: &'a mut Leaf,
    index: usize,
    /// At the target: count the items.
    counting: bool,
    /// On the path through a sequence: the index it names.
    want_index: Option<usize>,
    /// A map key just matched the path.
    key_hit: bool,
    len: Option<usize>,
}

impl<'a> Compound<'a> {
    /// A compound off the path: no field, index or key can match an empty path.
    fn off_path(leaf: &'a mut Leaf) -> Self {
        Compound {
            path: &[],
            want_str: None,
            leaf,
            index: 0,
            counting: false,
            want_index: None,
            key_hit: false,
            len: None,
        }
    }

    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Never> {
        if Some(self.index) == self.want_index {
            value.serialize(Probe {
                path: &self.path[1..],
                want_str: self.want_str,
                leaf: &mut *self.leaf,
            })?;
        }
        self.index += 1;
        Ok(())
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Never> {
        if !self.path.is_empty() && self.path[0] == key {
            value.serialize(Probe {
                path: &self.path[1..],
                want_str: self.want_str,
                leaf: &mut *self.leaf,
            })?;
        }
        Ok(())
    }

    fn end(self) -> Result<(), Never> {
        if self.counting {
            *self.leaf = Leaf::Len(self.len.unwrap_or(self.index).max(self.index));
        }
        Ok(())
    }
}

/// Sequence-like compounds (sequences, tuples, tuple structs and variants): items by index.
macro_rules! seq_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Never;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Never> {
                self.item(value)
            }
            fn end(self) -> Result<(), Never> {
                Compound::end(self)
            }
        }
    )*};
}

seq_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Struct-like compounds (structs and struct variants): fields by name.
macro_rules! struct_like {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Never;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Never> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Never> {
                Compound::end(self)
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Never> {
        self.key_hit = false;
        if let Some(want) = self.path.first() {
            let mut k = Leaf::Missing;
            key.serialize(Probe {
                path: &[],
                want_str: Some(want),
                leaf: &mut k,
            })?;
            self.key_hit = match k {
                Leaf::Str(eq) => eq,
                Leaf::Num(n) => want.parse::<f64>() == Ok(n),
                Leaf::Bool(b) => display_eq(&b, want),
                _ => false,
            };
        }
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Never> {
        if self.key_hit {
            self.key_hit = false;
            value.serialize(Probe {
                path: &self.path[1..],
                want_str: self.want_str,
                leaf: &mut *self.leaf,
            })?;
        }
        Ok(())
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

/// The integer methods of the serializer: every integer is a number (as `serde_json` reads
/// it back, as f64).
macro_rules! integers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Never> {
            self.num(v as f64)
        }
    )*};
}

impl<'a> Serializer for Probe<'a> {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Never> {
        self.set(Leaf::Bool(v))
    }
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128
    );
    fn serialize_f32(self, v: f32) -> Result<(), Never> {
        // JSON has no NaN: serde_json writes `null`.
        if v.is_finite() {
            self.num(v.into())
        } else {
            self.set(Leaf::Null)
        }
    }
    fn serialize_f64(self, v: f64) -> Result<(), Never> {
        if v.is_finite() {
            self.num(v)
        } else {
            self.set(Leaf::Null)
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Never> {
        let eq = self.want_str.is_some_and(|w| display_eq(&v, w));
        self.set(Leaf::Str(eq))
    }
    fn serialize_str(self, v: &str) -> Result<(), Never> {
        let eq = self.want_str == Some(v);
        self.set(Leaf::Str(eq))
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<(), Never> {
        let eq = self.want_str.is_some_and(|w| display_eq(&v, w));
        self.set(Leaf::Str(eq))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Never> {
        self.set(Leaf::Len(v.len()))
    }
    fn serialize_none(self) -> Result<(), Never> {
        self.set(Leaf::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        self.set(Leaf::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        self.set(Leaf::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Never> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        match self.variant(variant) {
            Ok(inner) => value.serialize(inner),
            Err(_) => Ok(()),
        }
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, Never> {
        Ok(self.compound(len, true))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Never> {
        Ok(self.compound(Some(len), true))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Never> {
        Ok(self.compound(Some(len), true))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Never> {
        Ok(self.variant_compound(variant, Some(len), true))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, Never> {
        Ok(self.compound(len, false))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Never> {
        Ok(self.compound(Some(len), false))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Never> {
        Ok(self.variant_compound(variant, Some(len), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    enum Shape {
        Circle { r: f64 },
        Dot,
        Pair(u8, u8),
        Wrapped(f32),
    }

    #[derive(Serialize)]
    struct Blob {
        area: u32,
        label: String,
        tag: Option<&'static str>,
        shape: Shape,
    }

    #[derive(Serialize)]
    struct Blobs {
        blobs: Vec<Blob>,
        valid: bool,
        by_name: std::collections::BTreeMap<String, f64>,
        by_id: std::collections::BTreeMap<u32, f64>,
        nan: f64,
    }

    fn sample() -> Blobs {
        Blobs {
            blobs: vec![
                Blob {
                    area: 12,
                    label: "knee".into(),
                    tag: None,
                    shape: Shape::Circle { r: 2.5 },
                },
                Blob {
                    area: 40,
                    label: "hip".into(),
                    tag: Some("x"),
                    shape: Shape::Dot,
                },
                Blob {
                    area: 7,
                    label: "ankle".into(),
                    tag: None,
                    shape: Shape::Pair(1, 9),
                },
                Blob {
                    area: 1,
                    label: "toe".into(),
                    tag: None,
                    shape: Shape::Wrapped(0.5),
                },
            ],
            valid: true,
            by_name: [("left".to_owned(), 1.5)].into(),
            by_id: [(3, 4.5)].into(),
            nan: f64::NAN,
        }
    }

    fn at(path: &str, want: Option<&str>) -> Leaf {
        let v = sample();
        let p: Vec<String> = path.split('.').map(str::to_owned).collect();
        probe(&v, &p, want)
    }

    /// Every leaf agrees with what the JSON of the same value holds at the same path.
    #[test]
    fn leaves_match_the_json() {
        let cases = [
            ("blobs", Leaf::Len(4)),
            ("blobs.1.area", Leaf::Num(40.0)),
            ("blobs.0.tag", Leaf::Null),
            ("blobs.1.tag", Leaf::Str(false)),
            ("blobs.0.shape.Circle.r", Leaf::Num(2.5)),
            ("blobs.0.shape", Leaf::Object),
            ("blobs.1.shape", Leaf::Str(false)),
            ("blobs.2.shape.Pair", Leaf::Len(2)),
            ("blobs.2.shape.Pair.1", Leaf::Num(9.0)),
            ("blobs.3.shape.Wrapped", Leaf::Num(0.5)),
            ("blobs.9.area", Leaf::Missing),
            ("blobs.x", Leaf::Missing),
            ("blobs.1.area.deeper", Leaf::Missing),
            ("blobs.0.shape.Dot", Leaf::Missing),
            ("valid", Leaf::Bool(true)),
            ("by_name.left", Leaf::Num(1.5)),
            ("by_id.3", Leaf::Num(4.5)),
            ("by_name", Leaf::Object),
            ("nan", Leaf::Null),
            ("nothing", Leaf::Missing),
        ];
        let json = serde_json::to_value(sample()).unwrap();
        for (path, want) in cases {
            assert_eq!(at(path, None), want, "{path}");
            let j = path.split('.').try_fold(&json, |v, k| match v {
                serde_json::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => v.get(k),
            });
            let from_json = match j {
                None => Leaf::Missing,
                Some(serde_json::Value::Null) => Leaf::Null,
                Some(serde_json::Value::Bool(b)) => Leaf::Bool(*b),
                Some(serde_json::Value::Number(n)) => Leaf::Num(n.as_f64().unwrap()),
                Some(serde_json::Value::String(_)) => Leaf::Str(false),
                Some(serde_json::Value::Array(a)) => Leaf::Len(a.len()),
                Some(serde_json::Value::Object(_)) => Leaf::Object,
            };
            assert_eq!(from_json, want, "{path} in {json}");
        }
    }

    #[test]
    fn strings_are_compared_with_the_wanted_one() {
        assert_eq!(at("blobs.1.label", Some("hip")), Leaf::Str(true));
        assert_eq!(at("blobs.1.label", Some("hi")), Leaf::Str(false));
        assert_eq!(at("blobs.1.label", Some("hipx")), Leaf::Str(false));
        assert_eq!(at("blobs.1.shape", Some("Dot")), Leaf::Str(true));
        assert_eq!(at("blobs.1.tag", Some("x")), Leaf::Str(true));
        let v = json!({"a": {"b": [1, "two"]}});
        let p = ["a".to_owned(), "b".to_owned(), "1".to_owned()];
        assert_eq!(probe(&v, &p, Some("two")), Leaf::Str(true));
    }
}
