//! §7.1 Entries: how one entry is encoded inside a page.
//!
//! Keys are front-coded against the previous key of the page; an entry's lead position is
//! implicit (right after the previous entry) except at restart entries; dates are stored as
//! zigzag differences within a restart group. [`EntryEncoder`] writes a page's entries,
//! [`EntryDecoder`] reads them back from any restart entry.

use super::bytes::{put_varint, unzigzag, varint_len, zigzag, Cursor};
use super::date::Date;
use crate::error::{DamageKind, Rule};

/// Largest key in bytes (§7.1).
pub const MAX_KEY_LEN: usize = 4096;
/// Largest lead in bytes (§7.1).
pub const MAX_LEAD_LEN: u32 = 16 << 20;
/// Largest body length plus one (§7.1): bodies are below 2^48 bytes.
pub const BODY_LEN_LIMIT: u64 = 1 << 48;
/// Entries per restart group (§6.2).
pub const RESTART_INTERVAL: usize = 16;

/// Entry flag: a date follows (§7.1).
pub const FLAG_DATE: u8 = 1;
/// Entry flag: the lead's stream offset follows (§7.1).
pub const FLAG_AT: u8 = 2;
/// Entry flag: the body lies elsewhere; its stream offset follows (§7.1, §7.2).
pub const FLAG_SHARED: u8 = 4;
const KNOWN_FLAGS: u8 = FLAG_DATE | FLAG_AT | FLAG_SHARED;

/// One entry as a page holds it, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryRecord {
    /// The key.
    pub key: String,
    /// Stream offset of the lead.
    pub lead_at: u64,
    /// Length of the lead.
    pub lead_len: u32,
    /// Length of the body.
    pub body_len: u64,
    /// Stream offset of the body, when it is shared with an earlier entry (§7.2).
    pub shared_body_at: Option<u64>,
    /// Index into CTYPES.
    pub content_type: u32,
    /// The date as `YYYYMMDD`, or 0 for none.
    pub date: u32,
}

impl EntryRecord {
    /// Stream offset of the body.
    pub fn body_at(&self) -> u64 {
        self.shared_body_at
            .unwrap_or(self.lead_at.saturating_add(self.lead_len.into()))
    }

    /// Where the next entry's lead goes when it is implicit: after this lead, and after
    /// this body unless it is shared. `None` on overflow.
    pub fn next_at(&self) -> Option<u64> {
        let own_body = if self.shared_body_at.is_some() {
            0
        } else {
            self.body_len
        };
        self.lead_at
            .checked_add(self.lead_len.into())?
            .checked_add(own_body)
    }
}

fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Encodes a page's entries one at a time (§7.1).
#[derive(Debug, Default)]
pub struct EntryEncoder {
    out: Vec<u8>,
    restarts: Vec<u16>,
    count: usize,
    prev_key: Vec<u8>,
    next_at: Option<u64>,
    prev_date: u32,
}

impl EntryEncoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries were pushed.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no entry was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the encoded entries plus their restart array.
    pub fn encoded_len(&self) -> usize {
        self.out.len() + 2 * self.restarts.len()
    }

    /// The bytes [`push`](Self::push)ing `e` would add, restart offset included.
    pub fn cost(&self, e: &EntryRecord) -> usize {
        let restart = self.count.is_multiple_of(RESTART_INTERVAL);
        let key = e.key.as_bytes();
        let shared = if restart {
            0
        } else {
            shared_prefix(&self.prev_key, key)
        };
        let at = restart || self.next_at != Some(e.lead_at);
        let prev_date = if restart { 0 } else { self.prev_date };
        varint_len(shared as u64) + varint_len((key.len() - shared) as u64) + key.len() - shared
            + 1
            + varint_len(e.lead_len.into())
            + varint_len(e.body_len)
            + if at { varint_len(e.lead_at) } else { 0 }
            + e.shared_body_at.map_or(0, varint_len)
            + varint_len(e.content_type.into())
            + if e.date != 0 {
                varint_len(zigzag(i64::from(e.date) - i64::from(prev_date)))
            } else {
                0
            }
            + if restart { 2 } else { 0 }
    }

    /// Appends `e`. The caller keeps keys increasing and fields within the format's limits.
    pub fn push(&mut self, e: &EntryRecord) {
        let restart = self.count.is_multiple_of(RESTART_INTERVAL);
        let key = e.key.as_bytes();
        let shared = if restart {
            self.restarts.push(self.out.len() as u16);
            self.prev_date = 0;
            0
        } else {
            shared_prefix(&self.prev_key, key)
        };
        let at = restart || self.next_at != Some(e.lead_at);
        let mut flags = 0;
        if e.date != 0 {
            flags |= FLAG_DATE;
        }
        if at {
            flags |= FLAG_AT;
        }
        if e.shared_body_at.is_some() {
            flags |= FLAG_SHARED;
        }
        put_varint(&mut self.out, shared as u64);
        put_varint(&mut self.out, (key.len() - shared) as u64);
        self.out.extend_from_slice(&key[shared..]);
        self.out.push(flags);
        put_varint(&mut self.out, e.lead_len.into());
        put_varint(&mut self.out, e.body_len);
        if at {
            put_varint(&mut self.out, e.lead_at);
        }
        if let Some(b) = e.shared_body_at {
            put_varint(&mut self.out, b);
        }
        put_varint(&mut self.out, e.content_type.into());
        if e.date != 0 {
            put_varint(
                &mut self.out,
                zigzag(i64::from(e.date) - i64::from(self.prev_date)),
            );
            self.prev_date = e.date;
        }
        self.prev_key.clear();
        self.prev_key.extend_from_slice(key);
        self.next_at = e.next_at();
        self.count += 1;
    }

    /// The encoded entries followed by the restart array, for a page whose entries start at
    /// byte `base`.
    pub fn finish(self, base: usize) -> Vec<u8> {
        let mut b = self.out;
        for r in self.restarts {
            b.extend_from_slice(&((base + usize::from(r)) as u16).to_le_bytes());
        }
        b
    }
}

/// Reads entries forward from a restart entry (§7.1).
#[derive(Debug, Clone)]
pub struct EntryDecoder<'b> {
    cursor: Cursor<'b>,
    end: usize,
    index: usize,
    key: Vec<u8>,
    /// The length of the key read last (`key`'s, when the decoder builds keys).
    key_len: usize,
    next_at: Option<u64>,
    prev_date: u32,
}

impl<'b> EntryDecoder<'b> {
    /// A decoder over `page`, whose entry number `index` (a restart entry: a multiple of
    /// [`RESTART_INTERVAL`]) starts at byte `offset`; entries end at byte `end`.
    pub fn new(page: &'b [u8], offset: usize, end: usize, index: usize) -> Self {
        EntryDecoder {
            cursor: Cursor::at(page, offset),
            end,
            index,
            key: Vec::new(),
            key_len: 0,
            next_at: None,
            prev_date: 0,
        }
    }

    /// The number (within the page) of the entry [`next_entry`](Self::next_entry) reads.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The key bytes of the entry at the cursor without decoding the rest; only at a restart
    /// entry (where the key is whole). Leaves the cursor where it was.
    pub fn peek_restart_key(&self) -> Result<&'b [u8], DamageKind> {
        let mut c = self.cursor.clone();
        let bounds = DamageKind::Violates(Rule::RecordBounds);
        if c.varint().ok_or(bounds)? != 0 {
            return Err(DamageKind::Violates(Rule::Restart));
        }
        let n = c.len_at_most(MAX_KEY_LEN).ok_or(bounds)?;
        let key = c.take(n).ok_or(bounds)?;
        if c.pos() > self.end {
            return Err(bounds);
        }
        Ok(key)
    }

    /// Decodes the next entry; the caller stops after the page's `n` entries.
    pub fn next_entry(&mut self) -> Result<EntryRecord, DamageKind> {
        let mut e = self.next_fields()?;
        // Checked to be UTF-8 by `next_fields`.
        e.key = String::from_utf8_lossy(&self.key).into_owned();
        Ok(e)
    }

    /// The key of the entry [`next_fields`](Self::next_fields) (or
    /// [`next_entry`](Self::next_entry)) read last.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Decodes the next entry like [`next_entry`](Self::next_entry), with every check, but
    /// leaves its key in the decoder ([`key`](Self::key)) instead of allocating it: the
    /// record's `key` is empty.
    pub fn next_fields(&mut self) -> Result<EntryRecord, DamageKind> {
        let e = self.next_passed()?;
        self.check_content(&e)?;
        Ok(e)
    }

    /// Decodes the next entry as [`next_fields`](Self::next_fields) does, but for the two
    /// checks of what the entry holds, which a search needs only for the entry it stops at
    /// ([`check_content`](Self::check_content)): that the key is UTF-8, and that the date is
    /// a date of the calendar. Every bound, length and flag, and the date's encoding, are
    /// still checked, so the decoder moves exactly as `next_fields` moves it. Of a page
    /// checked whole ([`check_entries`](super::nodes::check_entries)), as every page a
    /// reader keeps is, it returns what `next_fields` returns.
    pub fn next_passed(&mut self) -> Result<EntryRecord, DamageKind> {
        let (shared, suffix) = self.next_key_parts()?;
        self.key.truncate(shared);
        self.key.extend_from_slice(suffix);
        self.next_after_key()
    }

    /// Reads the next entry's key as the page stores it, checked (§7.1): how many leading
    /// bytes it shares with the key read last, and the bytes that follow them. The key
    /// itself is not built (see [`next_passed`](Self::next_passed)); the rest of the entry
    /// is read by [`next_after_key`](Self::next_after_key), which must follow.
    #[inline]
    pub fn next_key_parts(&mut self) -> Result<(usize, &'b [u8]), DamageKind> {
        let bounds = DamageKind::Violates(Rule::RecordBounds);
        let c = &mut self.cursor;
        let restart = self.index.is_multiple_of(RESTART_INTERVAL);
        let shared = c.len_at_most(MAX_KEY_LEN).ok_or(bounds)?;
        let suffix_len = c.len_at_most(MAX_KEY_LEN).ok_or(bounds)?;
        if (restart && shared != 0) || shared > self.key_len {
            return Err(DamageKind::Violates(Rule::Restart));
        }
        if shared + suffix_len == 0 || shared + suffix_len > MAX_KEY_LEN {
            return Err(DamageKind::Violates(Rule::KeyLength));
        }
        let suffix = c.take(suffix_len).ok_or(bounds)?;
        self.key_len = shared + suffix_len;
        Ok((shared, suffix))
    }

    /// Reads the rest of the entry whose key [`next_key_parts`](Self::next_key_parts) read,
    /// with the checks of [`next_passed`](Self::next_passed); the record's `key` is empty.
    /// Inlined always, so that [`skip_after_key`](Self::skip_after_key) makes no record.
    #[inline(always)]
    pub fn next_after_key(&mut self) -> Result<EntryRecord, DamageKind> {
        let bounds = DamageKind::Violates(Rule::RecordBounds);
        let c = &mut self.cursor;
        let restart = self.index.is_multiple_of(RESTART_INTERVAL);
        if restart {
            self.prev_date = 0;
        }
        let flags = c.u8().ok_or(bounds)?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(DamageKind::Violates(Rule::EntryFlags));
        }
        let lead_len = c
            .varint()
            .filter(|&n| n <= u64::from(MAX_LEAD_LEN))
            .ok_or(DamageKind::Violates(Rule::Lead))? as u32;
        let body_len = c
            .varint()
            .filter(|&n| n < BODY_LEN_LIMIT)
            .ok_or(DamageKind::Violates(Rule::BodyRange))?;
        let lead_at = if flags & FLAG_AT != 0 {
            c.varint().ok_or(bounds)?
        } else if restart {
            return Err(DamageKind::Violates(Rule::Restart));
        } else {
            self.next_at.ok_or(DamageKind::Violates(Rule::BodyRange))?
        };
        let shared_body_at = if flags & FLAG_SHARED != 0 {
            if body_len == 0 {
                return Err(DamageKind::Violates(Rule::SharedBody));
            }
            Some(c.varint().ok_or(bounds)?)
        } else {
            None
        };
        let content_type = c
            .varint()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(bounds)?;
        let date = if flags & FLAG_DATE != 0 {
            let d = i64::from(self.prev_date) + unzigzag(c.varint().ok_or(bounds)?);
            let d = u32::try_from(d)
                .ok()
                .filter(|&d| d != 0)
                .ok_or(DamageKind::ImpossibleDate(0))?;
            self.prev_date = d;
            d
        } else {
            0
        };
        if c.pos() > self.end {
            return Err(bounds);
        }
        let e = EntryRecord {
            key: String::new(),
            lead_at,
            lead_len,
            body_len,
            shared_body_at,
            content_type,
            date,
        };
        self.next_at = e.next_at();
        self.index += 1;
        Ok(e)
    }

    /// [`next_after_key`](Self::next_after_key), for an entry the caller passes over: the
    /// same checks, and the decoder moves the same way, but no record is made.
    #[inline]
    pub fn skip_after_key(&mut self) -> Result<(), DamageKind> {
        self.next_after_key().map(drop)
    }

    /// The checks [`next_passed`](Self::next_passed) leaves out, for `e`, the entry it read
    /// last: its key ([`key`](Self::key)) is UTF-8, and its date, if any, is a date of the
    /// calendar.
    pub fn check_content(&self, e: &EntryRecord) -> Result<(), DamageKind> {
        check_content_of(e, &self.key)
    }

    /// Where the cursor is (after the last entry read).
    pub fn pos(&self) -> usize {
        self.cursor.pos()
    }
}

/// [`EntryDecoder::check_content`] for an entry `e` whose key is `key`: the key is UTF-8,
/// and the date, if any, is a date of the calendar.
pub fn check_content_of(e: &EntryRecord, key: &[u8]) -> Result<(), DamageKind> {
    if e.date != 0 && !matches!(Date::from_u32(e.date), Ok(Some(_))) {
        return Err(DamageKind::ImpossibleDate(e.date));
    }
    if std::str::from_utf8(key).is_err() {
        return Err(DamageKind::NotUtf8);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, at: u64, lead: u32, body: u64, date: u32) -> EntryRecord {
        EntryRecord {
            key: key.into(),
            lead_at: at,
            lead_len: lead,
            body_len: body,
            shared_body_at: None,
            content_type: 0,
            date,
        }
    }

    #[test]
    fn entries_round_trip_with_implicit_positions_and_restarts() {
        let mut all = Vec::new();
        let mut at = 0;
        for i in 0..40u32 {
            let e = rec(
                &format!("k/{i:03}"),
                at,
                3,
                10 + u64::from(i),
                20240101 + i % 20,
            );
            at = e.next_at().unwrap();
            all.push(e);
        }
        all[5].shared_body_at = Some(3);
        let mut enc = EntryEncoder::new();
        for e in &all {
            let before = enc.encoded_len();
            let cost = enc.cost(e);
            enc.push(e);
            assert_eq!(enc.encoded_len() - before, cost);
        }
        let len = enc.encoded_len();
        let bytes = enc.finish(7);
        assert_eq!(bytes.len(), len);
        let mut page = vec![0u8; 7];
        page.extend_from_slice(&bytes);
        let end = page.len() - 2 * 3;
        let mut d = EntryDecoder::new(&page, 7, end, 0);
        for e in &all {
            assert_eq!(&d.next_entry().unwrap(), e);
        }
        assert_eq!(d.pos(), end);
        // Start at the second restart.
        let r1 = u16::from_le_bytes([page[end + 2], page[end + 3]]) as usize;
        let mut d = EntryDecoder::new(&page, r1, end, 16);
        assert_eq!(d.peek_restart_key().unwrap(), b"k/016");
        assert_eq!(d.next_entry().unwrap(), all[16]);
    }

    #[test]
    fn passing_an_entry_leaves_out_only_the_checks_of_what_it_holds() {
        // "bX" gets a byte that is not UTF-8; "c" has an impossible date (month 13).
        let all = [
            rec("a", 0, 1, 1, 20240101),
            rec("bX", 2, 1, 1, 20240102),
            rec("c", 4, 1, 1, 20241340),
            rec("d", 6, 1, 1, 20240103),
        ];
        let mut enc = EntryEncoder::new();
        for e in &all {
            enc.push(e);
        }
        let mut page = enc.finish(0);
        let x = page.windows(2).position(|w| w == b"bX").unwrap() + 1;
        page[x] = 0xFF;
        let end = page.len() - 2;
        let mut d = EntryDecoder::new(&page, 0, end, 0);
        assert_eq!(d.next_entry().unwrap(), all[0]);
        assert_eq!(d.clone().next_fields(), Err(DamageKind::NotUtf8));
        let e = d.next_passed().unwrap();
        assert_eq!(d.key(), b"b\xff");
        assert_eq!(d.check_content(&e), Err(DamageKind::NotUtf8));
        assert_eq!(
            d.clone().next_fields(),
            Err(DamageKind::ImpossibleDate(20241340))
        );
        let e = d.next_passed().unwrap();
        assert_eq!(
            d.check_content(&e),
            Err(DamageKind::ImpossibleDate(20241340))
        );
        // The decoder moved as `next_fields` moves it: the last entry decodes whole.
        let e = d.next_passed().unwrap();
        assert_eq!(d.check_content(&e), Ok(()));
        assert_eq!((d.key(), e.lead_at, e.date), (&b"d"[..], 6, 20240103));
        assert_eq!(d.pos(), end);
    }

    #[test]
    fn implicit_entries_cost_a_few_bytes() {
        let mut enc = EntryEncoder::new();
        enc.push(&rec("news/0001", 0, 60, 3000, 20020314));
        let first = enc.encoded_len();
        enc.push(&rec("news/0002", 3060, 60, 3000, 20020314));
        // shared 1, suffix len 1, suffix 1, flags 1, lead 1, body 2, ctype 1, date 1.
        assert_eq!(enc.encoded_len() - first, 9);
    }
}
