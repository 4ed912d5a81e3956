//! Per-frame outputs of stages: typed results by namespace, named points, signals, widgets
//! and notifications. Every table reuses its storage across frames, so a steady pipeline
//! writes results without allocating.

use std::any::Any;

use framebus_protocol::{Notification, NotificationLevel, Widget};

/// A stage result: any serializable value. Readers downcast it to its concrete type.
pub trait ResultValue: Any + Send + erased_serde::Serialize {
    /// As `Any`, for typed reads.
    fn as_any(&self) -> &dyn Any;
    /// As `Any`, for typed writes.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Send + serde::Serialize> ResultValue for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

pub(crate) struct Slot {
    pub(crate) namespace: String,
    pub(crate) value: Option<Box<dyn ResultValue>>,
    pub(crate) visible: bool,
    /// Set by [`ResultStore::output`]: the stage wrote its result since this was cleared
    /// (thread stages' stores; the pipeline merges only a written result).
    pub(crate) written: bool,
}

/// A named 2-D point published for other stages (markers, blob centroids, keypoints).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct NamedPoint {
    /// Name (`knee`, a marker id or label, a keypoint name).
    pub name: String,
    /// X in pixels.
    pub x: f64,
    /// Y in pixels.
    pub y: f64,
    /// Confidence 0..1.
    pub score: f64,
}

/// A table that keeps its entries' heap buffers when cleared.
#[derive(Debug, Default)]
pub struct ReuseTable<E> {
    entries: Vec<E>,
    len: usize,
}

impl<E: Default> ReuseTable<E> {
    /// Forgets every entry (keeping their storage).
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// The live entries.
    pub fn as_slice(&self) -> &[E] {
        &self.entries[..self.len]
    }
    /// Appends an entry, reusing a retired one when possible; returns it to fill in.
    pub fn push(&mut self) -> &mut E {
        if self.len == self.entries.len() {
            self.entries.push(E::default());
        }
        self.len += 1;
        &mut self.entries[self.len - 1]
    }
    /// Live entry count.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when there are no live entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Mutable live entries.
    pub fn as_mut_slice(&mut self) -> &mut [E] {
        &mut self.entries[..self.len]
    }
}

/// A scalar signal (`knee_angle = 145.5`).
#[derive(Debug, Clone, Default)]
pub struct Signal {
    /// Name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Index (in pipeline order) of the stage that published it: the snapshot's
    /// `observations` group signals by stage with it.
    pub stage: usize,
}

/// Everything stages produce for one frame.
#[derive(Default)]
pub struct ResultStore {
    pub(crate) slots: Vec<Slot>,
    /// Named points, cleared at the start of every frame.
    pub points: ReuseTable<NamedPoint>,
    /// Signals, cleared at the start of every frame.
    pub signals: ReuseTable<Signal>,
    /// Widgets, cleared at the start of every frame.
    pub widgets: ReuseTable<WidgetEntry>,
    /// Notifications raised during this frame.
    pub notifications: Vec<Notification>,
}

/// A reusable widget entry (see [`Widget`]).
#[derive(Debug, Clone, Default)]
pub struct WidgetEntry(pub Option<Widget>);

impl ResultStore {
    /// A store with one slot per stage namespace.
    pub fn new(namespaces: impl IntoIterator<Item = String>) -> Self {
        Self {
            slots: namespaces
                .into_iter()
                .map(|namespace| Slot {
                    namespace,
                    value: None,
                    visible: true,
                    written: false,
                })
                .collect(),
            ..Default::default()
        }
    }

    pub(crate) fn begin_frame(&mut self) {
        self.points.clear();
        self.signals.clear();
        self.widgets.clear();
        self.notifications.clear();
    }

    /// The result in `namespace`, if it is a `T`.
    pub fn get<T: Any>(&self, namespace: &str) -> Option<&T> {
        self.slots
            .iter()
            .find(|s| s.namespace == namespace)
            .and_then(|s| s.value.as_deref())
            .and_then(|v| v.as_any().downcast_ref())
    }

    /// The result stored under `namespace`, to serialize (or probe) as it is.
    pub(crate) fn value(&self, namespace: &str) -> Option<&dyn erased_serde::Serialize> {
        let slot = self.slots.iter().find(|s| s.namespace == namespace)?;
        slot.value
            .as_deref()
            .map(|v| v as &dyn erased_serde::Serialize)
    }

    /// The result of slot `index` as JSON (tests, REST).
    pub fn to_json(&self, namespace: &str) -> Option<serde_json::Value> {
        let slot = self.slots.iter().find(|s| s.namespace == namespace)?;
        slot.value
            .as_deref()
            .and_then(|v| serde_json::to_value(v as &dyn erased_serde::Serialize).ok())
    }

    pub(crate) fn output<T: Any + Send + serde::Serialize + Default>(
        &mut self,
        slot: usize,
    ) -> &mut T {
        let s = &mut self.slots[slot];
        s.written = true;
        let fresh = s.value.as_deref().is_none_or(|v| !v.as_any().is::<T>());
        if fresh {
            s.value = Some(Box::new(T::default()));
        }
        s.value
            .as_deref_mut()
            .and_then(|v| v.as_any_mut().downcast_mut())
            .expect("slot holds a T")
    }

    /// Adds a notification.
    pub fn notify(
        &mut self,
        level: NotificationLevel,
        source: &str,
        title: &str,
        message: impl Into<String>,
    ) {
        self.notifications.push(Notification {
            level,
            source: source.to_owned(),
            title: title.to_owned(),
            message: message.into(),
        });
    }
}
