//! A worker's `result`, parsed in place into buffers kept between frames: strings are
//! written into the `String`s of the last frame's signals, points, widgets and
//! notifications, and `output` into the `Value` of the frame before last (same shape, same
//! keys: nothing to allocate). Only growth (more entries, longer strings, a new key)
//! allocates, so a stage whose results carry strings costs no allocation per frame once
//! warmed up. Accepts and refuses exactly what [`ResultMessage`] does (checked by a test).
//!
//! [`ResultMessage`]: framebus_protocol::worker::ResultMessage

use std::fmt;

use framebus_protocol::worker::{
    ResultTag, WireFlow, WireLevel, WireNotification, WirePoint, WireSignal, WireWidget,
};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Entries of one kind: `items[..len]` are this frame's; the rest keep their buffers.
#[derive(Debug)]
pub(super) struct Pool<T> {
    items: Vec<T>,
    len: usize,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Pool<T> {
    /// This frame's entries.
    pub(super) fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Fill> Pool<T> {
    fn next_slot(&mut self) -> &mut T {
        if self.items.len() == self.len {
            self.items.push(T::default());
        }
        &mut self.items[self.len]
    }
}

/// The last `result` parsed (see the module doc).
#[derive(Debug)]
pub(super) struct ResultBuf {
    pub(super) seq: u64,
    pub(super) frame_id: u64,
    pub(super) flow: WireFlow,
    pub(super) signals: Pool<WireSignal>,
    pub(super) points: Pool<WirePoint>,
    pub(super) widgets: Pool<WireWidget>,
    pub(super) notifications: Pool<WireNotification>,
    /// `error`, when `has_error`.
    pub(super) error: String,
    pub(super) has_error: bool,
    pub(super) process_us: u64,
    /// Scratch for object keys.
    key: String,
    /// An object lost keys since the buffer's last use: `output` must be parsed afresh.
    stale: bool,
}

impl Default for ResultBuf {
    fn default() -> Self {
        Self {
            seq: 0,
            frame_id: 0,
            flow: WireFlow::Continue,
            signals: Pool::default(),
            points: Pool::default(),
            widgets: Pool::default(),
            notifications: Pool::default(),
            error: String::new(),
            has_error: false,
            process_us: 0,
            key: String::new(),
            stale: false,
        }
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Type,
    Seq,
    FrameId,
    Flow,
    Output,
    Signals,
    Points,
    Widgets,
    Notifications,
    Error,
    ProcessUs,
}

const FIELDS: &[&str] = &[
    "type",
    "seq",
    "frame_id",
    "flow",
    "output",
    "signals",
    "points",
    "widgets",
    "notifications",
    "error",
    "process_us",
];

impl ResultBuf {
    /// Parses `bytes` as a `result`, its `output` into `output`. `Err`: not a valid
    /// `result` (the caller then parses it as another message).
    pub(super) fn parse(&mut self, bytes: &[u8], output: &mut Value) -> serde_json::Result<()> {
        self.stale = false;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        Top {
            buf: self,
            output: &mut *output,
        }
        .deserialize(&mut de)?;
        de.end()?;
        if self.stale {
            // An object lost keys: parse `output` afresh (allocates; only when shapes change).
            let fresh: framebus_protocol::worker::ResultMessage = serde_json::from_slice(bytes)?;
            *output = fresh.output;
        }
        Ok(())
    }
}

struct Top<'a> {
    buf: &'a mut ResultBuf,
    output: &'a mut Value,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct("ResultMessage", FIELDS, self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a result message")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.buf;
        let mut seen = 0u16;
        while let Some(field) = map.next_key::<Field>()? {
            let bit = 1u16 << (field as u16);
            if seen & bit != 0 {
                return Err(A::Error::duplicate_field(FIELDS[field as usize]));
            }
            seen |= bit;
            match field {
                Field::Type => {
                    map.next_value::<ResultTag>()?;
                }
                Field::Seq => b.seq = map.next_value()?,
                Field::FrameId => b.frame_id = map.next_value()?,
                Field::Flow => b.flow = map.next_value()?,
                Field::Output => map.next_value_seed(InValue {
                    v: &mut *self.output,
                    key: &mut b.key,
                    stale: &mut b.stale,
                })?,
                Field::Signals => map.next_value_seed(InSeq(&mut b.signals))?,
                Field::Points => map.next_value_seed(InSeq(&mut b.points))?,
                Field::Widgets => map.next_value_seed(InSeq(&mut b.widgets))?,
                Field::Notifications => map.next_value_seed(InSeq(&mut b.notifications))?,
                Field::Error => {
                    b.has_error = map.next_value_seed(InOptStr(&mut b.error))?;
                }
                Field::ProcessUs => b.process_us = map.next_value()?,
            }
        }
        // `error` is an `Option`: serde lets it be missing; every other field is required.
        for (i, name) in FIELDS.iter().enumerate() {
            if seen & (1 << i) == 0 {
                if *name == "error" {
                    b.has_error = false;
                } else {
                    return Err(A::Error::missing_field(name));
                }
            }
        }
        Ok(())
    }
}

/// A string written into an existing `String`.
struct InStr<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for InStr<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for InStr<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(())
    }
}

/// An optional string into an existing `String`; `true` when present.
struct InOptStr<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for InOptStr<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for InOptStr<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        InStr(self.0).deserialize(d)?;
        Ok(true)
    }
}

/// A wire struct whose fields can be filled in place.
pub(super) trait Fill: Default {
    const NAME: &'static str;
    const FIELDS: &'static [&'static str];
    /// Reads the value of field `i` (of `FIELDS`) in place.
    fn fill<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error>;
    /// Field `i` was missing: `true` if it may be (an `Option`, now `None`).
    fn missing(&mut self, i: usize) -> bool;
}

/// A field name, as its index in `FIELDS` (unknown names are refused).
struct FieldIx(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldIx {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldIx {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|f| *f == v)
            .ok_or_else(|| E::unknown_field(v, self.0))
    }
}

/// The fields of a wire struct, each written in place by [`Fill::fill`].
struct InStruct<'a, T>(&'a mut T);

impl<'de, T: Fill> DeserializeSeed<'de> for InStruct<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct(T::NAME, T::FIELDS, self)
    }
}

impl<'de, T: Fill> Visitor<'de> for InStruct<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {}", T::NAME)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = 0u16;
        while let Some(i) = map.next_key_seed(FieldIx(T::FIELDS))? {
            if seen & (1 << i) != 0 {
                return Err(A::Error::duplicate_field(T::FIELDS[i]));
            }
            seen |= 1 << i;
            self.0.fill(i, &mut map)?;
        }
        for (i, name) in T::FIELDS.iter().enumerate() {
            if seen & (1 << i) == 0 && !self.0.missing(i) {
                return Err(A::Error::missing_field(name));
            }
        }
        Ok(())
    }
}

impl Fill for WireSignal {
    const NAME: &'static str = "WireSignal";
    const FIELDS: &'static [&'static str] = &["name", "value"];
    fn fill<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => map.next_value_seed(InStr(&mut self.name)),
            _ => map.next_value().map(|v| self.value = v),
        }
    }
    fn missing(&mut self, _: usize) -> bool {
        false
    }
}

impl Fill for WirePoint {
    const NAME: &'static str = "WirePoint";
    const FIELDS: &'static [&'static str] = &["name", "x", "y", "score"];
    fn fill<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => map.next_value_seed(InStr(&mut self.name)),
            1 => map.next_value().map(|v| self.x = v),
            2 => map.next_value().map(|v| self.y = v),
            _ => map.next_value().map(|v| self.score = v),
        }
    }
    fn missing(&mut self, _: usize) -> bool {
        false
    }
}

impl Fill for WireWidget {
    const NAME: &'static str = "WireWidget";
    const FIELDS: &'static [&'static str] = &["id", "label", "value", "unit", "min", "max"];
    fn fill<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => map.next_value_seed(InStr(&mut self.id)),
            1 => map.next_value_seed(InStr(&mut self.label)),
            2 => map.next_value().map(|v| self.value = v),
            3 => map.next_value_seed(InStr(&mut self.unit)),
            4 => map.next_value().map(|v| self.min = v),
            _ => map.next_value().map(|v| self.max = v),
        }
    }
    fn missing(&mut self, i: usize) -> bool {
        match i {
            2 => self.value = None,
            4 => self.min = None,
            5 => self.max = None,
            _ => return false,
        }
        true
    }
}

impl Fill for WireNotification {
    const NAME: &'static str = "WireNotification";
    const FIELDS: &'static [&'static str] = &["level", "title", "message"];
    fn fill<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => map.next_value::<WireLevel>().map(|v| self.level = v),
            1 => map.next_value_seed(InStr(&mut self.title)),
            _ => map.next_value_seed(InStr(&mut self.message)),
        }
    }
    fn missing(&mut self, _: usize) -> bool {
        false
    }
}

/// A JSON array of wire structs into a [`Pool`].
struct InSeq<'a, T>(&'a mut Pool<T>);

impl<'de, T: Fill> DeserializeSeed<'de> for InSeq<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Fill> Visitor<'de> for InSeq<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", T::NAME)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let pool = self.0;
        pool.len = 0;
        while seq.next_element_seed(InStruct(pool.next_slot()))?.is_some() {
            pool.len += 1;
        }
        Ok(())
    }
}

/// Any JSON into an existing [`Value`], reusing its strings, arrays and objects where the
/// shape matches.
struct InValue<'a> {
    v: &'a mut Value,
    key: &'a mut String,
    stale: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for InValue<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InValue<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.v = Value::Null;
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        *self.v = Value::Bool(b);
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        *self.v = Value::Number(n.into());
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        *self.v = Value::Number(n.into());
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        *self.v = Number::from_f64(n).map_or(Value::Null, Value::Number);
        Ok(())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        match self.v {
            Value::String(old) => {
                old.clear();
                old.push_str(s);
            }
            other => *other = Value::String(s.to_owned()),
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.v.is_array() {
            *self.v = Value::Array(Vec::new());
        }
        let Value::Array(items) = self.v else {
            unreachable!("made an array above")
        };
        let mut n = 0;
        loop {
            if items.len() == n {
                items.push(Value::Null);
            }
            let seed = InValue {
                v: &mut items[n],
                key: &mut *self.key,
                stale: &mut *self.stale,
            };
            if seq.next_element_seed(seed)?.is_none() {
                break;
            }
            n += 1;
        }
        items.truncate(n);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.v.is_object() {
            *self.v = Value::Object(Map::new());
        }
        let Value::Object(obj) = self.v else {
            unreachable!("made an object above")
        };
        let mut found = 0;
        while map.next_key_seed(InStr(&mut *self.key))?.is_some() {
            if !obj.contains_key(self.key.as_str()) {
                // A new key: allocates (only when the shape changes).
                obj.insert(self.key.clone(), Value::Null);
            }
            found += 1;
            let Some(slot) = obj.get_mut(self.key.as_str()) else {
                unreachable!("inserted above")
            };
            map.next_value_seed(InValue {
                v: slot,
                key: &mut *self.key,
                stale: &mut *self.stale,
            })?;
        }
        if found != obj.len() {
            // Keys of an earlier frame that this one lacks (or a repeated key): the caller
            // parses the whole output afresh.
            *self.stale = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use framebus_protocol::worker::{FrameResult, ResultMessage};
    use serde_json::json;

    fn result(output: Value, names: &[&str]) -> Value {
        json!({"type":"result","seq":3,"frame_id":9,"flow":"skip","output":output,
            "signals": names.iter().map(|n| json!({"name":n,"value":0.5})).collect::<Vec<_>>(),
            "points":[{"name":"hip","x":1.0,"y":2.0,"score":0.9}],
            "widgets":[{"id":"w","label":"W é\"","value":null,"unit":"px","min":0.0,"max":1.0}],
            "notifications":[{"level":"warning","title":"t","message":"m"}],
            "error":null,"process_us":12})
    }

    /// What the in-place parse read, as the protocol's own type.
    fn read_back(b: &ResultBuf, output: &Value) -> FrameResult {
        FrameResult {
            seq: b.seq,
            frame_id: b.frame_id,
            flow: b.flow,
            output: output.clone(),
            signals: b.signals.as_slice().to_vec(),
            points: b.points.as_slice().to_vec(),
            widgets: b.widgets.as_slice().to_vec(),
            notifications: b.notifications.as_slice().to_vec(),
            error: b.has_error.then(|| b.error.clone()),
            process_us: b.process_us,
        }
    }

    #[test]
    fn in_place_reads_what_the_protocol_type_reads_frame_after_frame() {
        let mut b = ResultBuf::default();
        let mut out = Value::Null;
        let frames = [
            result(json!({"a": 1, "b": ["x", {"c": true}]}), &["one", "two"]),
            result(json!({"a": 2.5, "b": ["yy", {"c": false}, 3]}), &["one"]),
            // A key gone: parsed afresh, nothing stale kept.
            result(json!({"b": []}), &[]),
            result(json!("text"), &["three", "four", "five"]),
            result(Value::Null, &["x"]),
            {
                let mut r = result(json!([1, -2, 3.5]), &[]);
                r["error"] = json!("ValueError: boom");
                r
            },
        ];
        for f in frames {
            let text = serde_json::to_vec(&f).unwrap();
            b.parse(&text, &mut out).unwrap();
            let want = FrameResult::from(serde_json::from_slice::<ResultMessage>(&text).unwrap());
            assert_eq!(read_back(&b, &out), want, "{f}");
        }
        // A missing `error` is `None`, as for the protocol type.
        let mut f = result(json!(1), &[]);
        f.as_object_mut().unwrap().remove("error");
        b.has_error = true;
        b.parse(&serde_json::to_vec(&f).unwrap(), &mut out).unwrap();
        assert!(!b.has_error);
    }

    #[test]
    fn in_place_refuses_what_the_protocol_type_refuses() {
        let good = result(json!({"a": 1}), &["s"]);
        let mut bad = Vec::new();
        for field in ["seq", "output", "signals", "type", "process_us"] {
            let mut f = good.clone();
            f.as_object_mut().unwrap().remove(field);
            bad.push(f);
        }
        let mut f = good.clone();
        f["extra"] = json!(1);
        bad.push(f);
        let mut f = good.clone();
        f["signals"][0]["extra"] = json!(1);
        bad.push(f);
        let mut f = good.clone();
        f["widgets"][0].as_object_mut().unwrap().remove("unit");
        bad.push(f);
        let mut f = good.clone();
        f["type"] = json!("ok");
        bad.push(f);
        let mut f = good.clone();
        f["seq"] = json!("3");
        bad.push(f);
        let mut f = good.clone();
        f["notifications"][0]["level"] = json!("loud");
        bad.push(f);
        for f in bad {
            let text = serde_json::to_vec(&f).unwrap();
            assert!(
                serde_json::from_slice::<ResultMessage>(&text).is_err(),
                "{f}"
            );
            let mut b = ResultBuf::default();
            assert!(b.parse(&text, &mut Value::Null).is_err(), "{f}");
        }
        let mut b = ResultBuf::default();
        for text in [&b"{\"type\":\"ok\"}"[..], b"not json", b"[1]", b"{}"] {
            assert!(b.parse(text, &mut Value::Null).is_err());
        }
        // Missing optional widget fields read as `None`, as for the protocol type.
        let mut f = good.clone();
        for k in ["value", "min", "max"] {
            f["widgets"][0].as_object_mut().unwrap().remove(k);
        }
        let text = serde_json::to_vec(&f).unwrap();
        let mut out = Value::Null;
        b.parse(&text, &mut out).unwrap();
        let want = FrameResult::from(serde_json::from_slice::<ResultMessage>(&text).unwrap());
        assert_eq!(read_back(&b, &out), want);
    }
}
