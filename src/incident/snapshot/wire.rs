//! The snapshot's byte layer: variable-length integers, length-prefixed strings and lists,
//! instants as seconds and nanoseconds, and tables that hold each actor, title and service
//! once.
//!
//! Every value is written by [`Wire::put`] and read back by [`Wire::get`], which checks what
//! it reads (a length past the end, a tag no variant has, text that breaks its type's rules)
//! and says what was wrong instead of panicking. Lengths are never trusted for allocation:
//! a list reserves at most as many items as there are bytes left.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::{Actor, IncidentId, Service};
use crate::text::Title;

/// What was wrong with a snapshot's bytes.
pub(crate) type Bad = String;

/// A value with a snapshot encoding.
pub(crate) trait Wire: Sized {
    /// Appends the value.
    fn put(&self, w: &mut Writer);
    /// Reads a value [`put`](Wire::put) wrote.
    fn get(r: &mut Reader<'_>) -> Result<Self, Bad>;
}

/// Values kept once per snapshot and named by their position in it.
struct Interned<T> {
    list: Vec<T>,
    index: HashMap<T, u32>,
}

impl<T> Default for Interned<T> {
    fn default() -> Interned<T> {
        Interned {
            list: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Interned<T> {
    fn position(&mut self, value: &T) -> u32 {
        if let Some(&at) = self.index.get(value) {
            return at;
        }
        let at = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(value.clone());
        self.index.insert(value.clone(), at);
        at
    }
}

/// How many records apart the starts a payload lists are: readers on several threads split
/// the records there without walking them.
pub(crate) const STRIDE: u64 = 1024;

/// Writes incidents one after another, each as a record with its length, and collects the
/// shared tables they refer to.
#[derive(Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
    /// Records written.
    records: u64,
    /// Where every [`STRIDE`]th record starts, from the first record's start.
    starts: Vec<u64>,
    actors: Interned<Actor>,
    titles: Interned<Title>,
    services: Interned<Service>,
}

impl Writer {
    pub(crate) fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// An unsigned LEB128 integer: seven bits a byte, low bits first.
    pub(crate) fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        self.out.push((n & 0x7f) as u8);
    }

    /// A signed integer, zigzag-folded so small magnitudes stay short.
    pub(crate) fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)).cast_unsigned());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.bytes(s.as_bytes());
    }

    /// Appends one record: the bytes `body` writes, after their length.
    pub(crate) fn record(&mut self, body: impl FnOnce(&mut Writer)) {
        let start = self.out.len();
        if self.records.is_multiple_of(STRIDE) {
            self.starts.push(start as u64);
        }
        self.records += 1;
        body(self);
        let record = self.out.split_off(start);
        self.uint(record.len() as u64);
        self.out.extend_from_slice(&record);
    }

    /// The bytes written, without tables or record starts: for other layouts built from the
    /// same integers (a file store's index checkpoint).
    #[cfg(feature = "file")]
    pub(crate) fn into_raw(self) -> Vec<u8> {
        self.out
    }

    /// The tables, where every [`STRIDE`]th record starts, then the records.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut head = Writer::default();
        head.uint(self.actors.list.len() as u64);
        for actor in &self.actors.list {
            head.str(actor.id());
            head.str(actor.name());
            actor.role().put(&mut head);
        }
        head.uint(self.titles.list.len() as u64);
        for title in &self.titles.list {
            head.str(title.as_str());
        }
        head.uint(self.services.list.len() as u64);
        for service in &self.services.list {
            head.str(service.as_str());
        }
        head.uint(self.starts.len() as u64);
        for start in &self.starts {
            head.uint(*start);
        }
        let mut out = head.out;
        out.extend_from_slice(&self.out);
        out
    }
}

/// The tables a snapshot's records refer to, each entry checked by its type's constructor.
#[derive(Default)]
pub(crate) struct Tables {
    actors: Vec<Actor>,
    titles: Vec<Title>,
    services: Vec<Service>,
}

impl Tables {
    /// Reads the tables and the list of record starts at the start of `bytes`; returns them
    /// and the records after them.
    pub(crate) fn read(bytes: &[u8]) -> Result<(Tables, Vec<usize>, &[u8]), Bad> {
        let empty = Tables::default();
        let mut r = Reader::new(bytes, &empty);
        let mut tables = Tables::default();
        for _ in 0..r.count()? {
            let id = r.str()?;
            let name = r.str()?;
            let role = crate::model::Role::get(&mut r)?;
            tables
                .actors
                .push(Actor::new(id, name, role).map_err(|e| format!("an actor: {e}"))?);
        }
        for _ in 0..r.count()? {
            tables
                .titles
                .push(Title::new(r.str()?).map_err(|e| e.to_string())?);
        }
        for _ in 0..r.count()? {
            tables
                .services
                .push(Service::new(r.str()?).map_err(|e| e.to_string())?);
        }
        let listed = r.count()?;
        let mut starts = Vec::with_capacity(listed.min(FIRST_RESERVE));
        for _ in 0..listed {
            let start = usize::try_from(r.uint()?).map_err(|_| "a record start is too large")?;
            starts.push(start);
        }
        let read = bytes.len() - r.rest().len();
        let records = &bytes[read..];
        if starts.first().is_some_and(|&first| first != 0)
            || starts.windows(2).any(|pair| pair[0] >= pair[1])
            || starts.last().is_some_and(|&last| last >= records.len())
        {
            return Err("its list of record starts is out of order or past the end".into());
        }
        Ok((tables, starts, records))
    }
}

/// Reads values back from a slice, with the snapshot's tables.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    tables: &'a Tables,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], tables: &'a Tables) -> Reader<'a> {
        Reader { bytes, tables }
    }

    /// What is left unread.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    pub(crate) fn byte(&mut self) -> Result<u8, Bad> {
        let (&b, rest) = self.bytes.split_first().ok_or_else(cut)?;
        self.bytes = rest;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if n > self.bytes.len() {
            return Err(cut());
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, Bad> {
        // Most numbers in a snapshot (lengths, counts, table positions) take one byte.
        if let Some((&b, rest)) = self.bytes.split_first()
            && b < 0x80
        {
            self.bytes = rest;
            return Ok(u64::from(b));
        }
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err("a number is too large".into());
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("a number is too long".into())
    }

    pub(crate) fn int(&mut self) -> Result<i64, Bad> {
        let n = self.uint()?;
        Ok((n >> 1).cast_signed() ^ (n & 1).cast_signed().wrapping_neg())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Bad> {
        u32::try_from(self.uint()?).map_err(|_| "a number is too large".into())
    }

    /// A count of items that follow: at most one per byte left, so a damaged count can not
    /// make a reader reserve more than the snapshot's size.
    pub(crate) fn count(&mut self) -> Result<usize, Bad> {
        let n = self.uint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.bytes.len() => Ok(n),
            _ => Err(format!("a count of {n} is more than the bytes left")),
        }
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, Bad> {
        let len = self.count()?;
        std::str::from_utf8(self.take(len)?).map_err(|_| "a string is not UTF-8".into())
    }

    /// One record: its bytes, read by a reader of their own.
    pub(crate) fn record(&mut self) -> Result<Reader<'a>, Bad> {
        let len = self.count()?;
        Ok(Reader::new(self.take(len)?, self.tables))
    }

    pub(crate) fn tag(&mut self, what: &str, max: u8) -> Result<u8, Bad> {
        let tag = self.byte()?;
        if tag > max {
            return Err(format!("{what} has no variant {tag}"));
        }
        Ok(tag)
    }

    fn entry<T: Clone>(&mut self, list: &[T], what: &str) -> Result<T, Bad> {
        let at = self.uint()?;
        usize::try_from(at)
            .ok()
            .and_then(|at| list.get(at))
            .cloned()
            .ok_or_else(|| format!("{what} {at} is not in the table"))
    }
}

fn cut() -> Bad {
    "it is cut short".into()
}

/// Implements [`Wire`] for a type kept in one of the writer's tables: written as its
/// position there.
macro_rules! wire_interned {
    ($ty:ty, $table:ident, $what:literal) => {
        impl Wire for $ty {
            fn put(&self, w: &mut Writer) {
                let at = w.$table.position(self);
                w.uint(u64::from(at));
            }
            fn get(r: &mut Reader<'_>) -> Result<$ty, Bad> {
                let tables = r.tables;
                r.entry(&tables.$table, $what)
            }
        }
    };
}

wire_interned!(Actor, actors, "actor");
wire_interned!(Title, titles, "title");
wire_interned!(Service, services, "service");

impl Wire for bool {
    fn put(&self, w: &mut Writer) {
        w.byte(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<bool, Bad> {
        Ok(r.tag("a flag", 1)? == 1)
    }
}

impl Wire for u8 {
    fn put(&self, w: &mut Writer) {
        w.byte(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<u8, Bad> {
        r.byte()
    }
}

impl Wire for u32 {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<u32, Bad> {
        r.u32()
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer) {
        w.uint(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<u64, Bad> {
        r.uint()
    }
}

impl Wire for usize {
    fn put(&self, w: &mut Writer) {
        w.uint(*self as u64);
    }
    fn get(r: &mut Reader<'_>) -> Result<usize, Bad> {
        usize::try_from(r.uint()?).map_err(|_| "a number is too large".into())
    }
}

impl Wire for String {
    fn put(&self, w: &mut Writer) {
        w.str(self);
    }
    fn get(r: &mut Reader<'_>) -> Result<String, Bad> {
        r.str().map(str::to_owned)
    }
}

impl Wire for IncidentId {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_uuid().as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<IncidentId, Bad> {
        let bytes: [u8; 16] = r.take(16)?.try_into().map_err(|_| cut())?;
        Ok(IncidentId::from_bytes(bytes))
    }
}

/// Seconds since 1970 and nanoseconds.
impl Wire for DateTime<Utc> {
    fn put(&self, w: &mut Writer) {
        w.int(self.timestamp());
        w.uint(u64::from(self.timestamp_subsec_nanos()));
    }
    fn get(r: &mut Reader<'_>) -> Result<DateTime<Utc>, Bad> {
        let secs = r.int()?;
        let nanos = r.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| "an instant is out of range".into())
    }
}

impl Wire for TimeDelta {
    fn put(&self, w: &mut Writer) {
        w.int(self.num_seconds());
        w.uint(u64::from(self.subsec_nanos().unsigned_abs()));
        w.byte(u8::from(self.subsec_nanos() < 0));
    }
    fn get(r: &mut Reader<'_>) -> Result<TimeDelta, Bad> {
        let secs = r.int()?;
        let nanos = i64::from(r.u32()?);
        let negative = bool::get(r)?;
        TimeDelta::try_seconds(secs)
            .and_then(|s| {
                s.checked_add(&TimeDelta::nanoseconds(if negative {
                    -nanos
                } else {
                    nanos
                }))
            })
            .ok_or_else(|| "a duration is out of range".into())
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.byte(0),
            Some(value) => {
                w.byte(1);
                value.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Option<T>, Bad> {
        Ok(match r.tag("an option", 1)? {
            0 => None,
            _ => Some(T::get(r)?),
        })
    }
}

impl<T: Wire> Wire for Box<T> {
    fn put(&self, w: &mut Writer) {
        T::put(self, w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Box<T>, Bad> {
        T::get(r).map(Box::new)
    }
}

/// Items a list reserves room for before reading them: a count is at most the bytes left,
/// and an item takes up to a few hundred bytes in memory for each byte it takes in the
/// snapshot, so reserving the whole count at once would let a damaged count ask for far more
/// memory than the snapshot's size.
const FIRST_RESERVE: usize = 1024;

/// A list, read back with exactly its length as capacity (the projection keeps it).
impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.uint(self.len() as u64);
        for item in self {
            item.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Vec<T>, Bad> {
        let n = r.count()?;
        let mut list = Vec::with_capacity(n.min(FIRST_RESERVE));
        for _ in 0..n {
            list.push(T::get(r)?);
        }
        if list.capacity() != list.len() {
            // Longer than the first reservation: grown by doubling, cut back to its length.
            list.shrink_to_fit();
        }
        Ok(list)
    }
}

impl<K: Wire + Ord, V: Wire> Wire for BTreeMap<K, V> {
    fn put(&self, w: &mut Writer) {
        w.uint(self.len() as u64);
        for (key, value) in self {
            key.put(w);
            value.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<BTreeMap<K, V>, Bad> {
        let n = r.count()?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let key = K::get(r)?;
            let value = V::get(r)?;
            if map.insert(key, value).is_some() {
                return Err("a map holds a key twice".into());
            }
        }
        Ok(map)
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, w: &mut Writer) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<(A, B), Bad> {
        Ok((A::get(r)?, B::get(r)?))
    }
}

impl<A: Wire, B: Wire, C: Wire> Wire for (A, B, C) {
    fn put(&self, w: &mut Writer) {
        self.0.put(w);
        self.1.put(w);
        self.2.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<(A, B, C), Bad> {
        Ok((A::get(r)?, B::get(r)?, C::get(r)?))
    }
}

/// Implements [`Wire`] for a field-less enum, one byte per variant, in the order given.
macro_rules! wire_unit_enum {
    ($ty:ty, $what:literal, [$($variant:path),+ $(,)?]) => {
        impl $crate::incident::snapshot::wire::Wire for $ty {
            fn put(&self, w: &mut $crate::incident::snapshot::wire::Writer) {
                let variants = [$($variant),+];
                // Every variant is in the list (the match below is exhaustive).
                let at = variants.iter().position(|v| v == self).unwrap_or(0);
                w.byte(u8::try_from(at).unwrap_or(u8::MAX));
            }
            fn get(
                r: &mut $crate::incident::snapshot::wire::Reader<'_>,
            ) -> Result<$ty, $crate::incident::snapshot::wire::Bad> {
                #[allow(unreachable_patterns)]
                const fn _all_listed(value: $ty) {
                    match value {
                        $($variant)|+ => {}
                    }
                }
                let variants = [$($variant),+];
                let last = u8::try_from(variants.len() - 1).unwrap_or(u8::MAX);
                let tag = r.tag($what, last)?;
                Ok(variants[usize::from(tag)])
            }
        }
    };
}
pub(crate) use wire_unit_enum;

wire_unit_enum!(
    crate::model::Role,
    "a role",
    [
        crate::model::Role::Owner,
        crate::model::Role::Responder,
        crate::model::Role::Support,
        crate::model::Role::Viewer,
        crate::model::Role::System,
    ]
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip<T: Wire + PartialEq + std::fmt::Debug>(value: &T) -> T {
        let mut w = Writer::default();
        value.put(&mut w);
        let bytes = w.out;
        let tables = Tables::default();
        let mut r = Reader::new(&bytes, &tables);
        let back = T::get(&mut r).unwrap();
        assert!(r.rest().is_empty());
        back
    }

    proptest! {
        #[test]
        fn integers_and_instants_read_back(
            u in any::<u64>(),
            i in any::<i64>(),
            secs in -8_000_000_000_i64..8_000_000_000,
            nanos in 0u32..1_000_000_000,
            delta in any::<i64>(),
        ) {
            prop_assert_eq!(round_trip(&u), u);
            let mut w = Writer::default();
            w.int(i);
            let tables = Tables::default();
            prop_assert_eq!(Reader::new(&w.out, &tables).int().unwrap(), i);
            let at = DateTime::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(round_trip(&at), at);
            let d = TimeDelta::nanoseconds(delta);
            prop_assert_eq!(round_trip(&d), d);
        }

        /// Whatever the bytes, reading returns a value or an error, and never panics.
        #[test]
        fn any_bytes_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let tables = Tables::default();
            let mut r = Reader::new(&bytes, &tables);
            let _ = Vec::<(DateTime<Utc>, Option<String>)>::get(&mut r);
            let _ = Tables::read(&bytes);

        }
    }

    /// A list longer than the first reservation reads whole and keeps no spare room.
    #[test]
    fn a_long_list_reads_back_at_its_length() {
        let list: Vec<u64> = (0..3 * FIRST_RESERVE as u64 + 5).collect();
        let mut w = Writer::default();
        list.put(&mut w);
        let tables = Tables::default();
        let back = Vec::<u64>::get(&mut Reader::new(&w.out, &tables)).unwrap();
        assert_eq!(back, list);
        assert_eq!(back.capacity(), back.len());
    }

    #[test]
    fn a_count_past_the_end_is_refused() {
        let mut w = Writer::default();
        w.uint(1 << 40);
        let tables = Tables::default();
        let err = Vec::<u8>::get(&mut Reader::new(&w.out, &tables));
        assert!(err.is_err());
    }
}
