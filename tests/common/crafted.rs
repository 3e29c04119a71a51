//! Hostile indexes (issue 18): an INDEX laid out node by node, so that a test can make any
//! topology — a branch whose child is itself, branches sharing children, gaps, bytes after
//! the last node — with every checksum of the chain valid. The nodes are encoded with
//! `quire::format::nodes`' encoders; [`Builder::finish`] lays the file out as the writer
//! does (prelude, then the sections in the archive's order, each with its CRC).
//!
//! Laid out unchanged, a writer's archive comes out byte for byte the same
//! ([`rebuild`]), which the tests check: the only differences in a crafted file are the
//! ones its case makes.
#![allow(dead_code)]

use super::{options, pack, Item, Parts, Rng};
use quire::format::entries::EntryEncoder;
use quire::format::header;
use quire::format::nodes::{encode_branch, encode_page, separator, Child};
use quire::format::{self, SectionId, SectionRecord};
use quire::{DamageKind, DictionaryMode, Location, Rule};
use std::ops::Range;

/// A node placed in INDEX: where, how long, its CRC, the entries it holds (or claims) and
/// its first and last keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub offset: u64,
    pub len: u32,
    pub crc: u32,
    pub entries: u64,
    pub first: Vec<u8>,
    pub last: Vec<u8>,
}

/// INDEX being laid out, over the pages and sections of a taken-apart archive.
pub struct Builder<'p> {
    pub parts: &'p Parts,
    pub index: Vec<u8>,
    /// Nodes placed (every node of INDEX but stray bytes).
    pub nodes: usize,
}

/// A branch's child records over `children` (back to back from the first one's offset, as
/// the encoding says), with the separators the writer would choose, or `seps` when given.
pub fn child_records(children: &[Placed], seps: Option<&[Vec<u8>]>) -> Vec<Child> {
    children
        .iter()
        .enumerate()
        .map(|(i, c)| Child {
            first_entry: 0,
            entries: c.entries,
            offset: c.offset,
            len: c.len,
            crc: c.crc,
            sep: match seps {
                Some(s) => s[i].clone(),
                None if i == 0 => Vec::new(),
                None => separator(&children[i - 1].last, &c.first),
            },
        })
        .collect()
}

/// A branch over `children`: its bytes, entries, first and last keys.
pub fn branch(children: &[Placed], seps: Option<&[Vec<u8>]>) -> (Vec<u8>, u64, Vec<u8>, Vec<u8>) {
    let records = child_records(children, seps);
    (
        encode_branch(&records),
        children.iter().map(|c| c.entries).sum(),
        children
            .first()
            .map(|c| c.first.clone())
            .unwrap_or_default(),
        children.last().map(|c| c.last.clone()).unwrap_or_default(),
    )
}

/// The bytes of page `i` of `parts`, as `Parts::to_bytes` encodes it.
pub fn page_bytes(parts: &Parts, i: usize) -> Vec<u8> {
    let p = &parts.pages[i];
    let mut enc = EntryEncoder::new();
    for e in &p.entries {
        enc.push(e);
    }
    encode_page(&p.run, &p.foreign, enc)
}

impl<'p> Builder<'p> {
    pub fn new(parts: &'p Parts) -> Self {
        Builder {
            parts,
            index: Vec::new(),
            nodes: 0,
        }
    }

    /// Places `bytes` at the end of INDEX.
    pub fn place(&mut self, bytes: &[u8], entries: u64, first: Vec<u8>, last: Vec<u8>) -> Placed {
        let p = Placed {
            offset: self.index.len() as u64,
            len: bytes.len() as u32,
            crc: format::crc32(bytes),
            entries,
            first,
            last,
        };
        self.index.extend_from_slice(bytes);
        self.nodes += 1;
        p
    }

    /// Places page `i` of the archive.
    pub fn page(&mut self, i: usize) -> Placed {
        let bytes = page_bytes(self.parts, i);
        let p = &self.parts.pages[i];
        let first = p.entries.first().map(|e| e.key.clone().into_bytes());
        let last = p.entries.last().map(|e| e.key.clone().into_bytes());
        self.place(
            &bytes,
            p.entries.len() as u64,
            first.unwrap_or_default(),
            last.unwrap_or_default(),
        )
    }

    /// Places every page, in order.
    pub fn pages(&mut self) -> Vec<Placed> {
        (0..self.parts.pages.len()).map(|i| self.page(i)).collect()
    }

    /// Places a branch over `children`.
    pub fn branch(&mut self, children: &[Placed], seps: Option<&[Vec<u8>]>) -> Placed {
        let (bytes, n, first, last) = branch(children, seps);
        self.place(&bytes, n, first, last)
    }

    /// Places branches over consecutive groups of `per` nodes of `below`: one level.
    pub fn level(&mut self, below: &[Placed], per: usize) -> Vec<Placed> {
        below.chunks(per).map(|c| self.branch(c, None)).collect()
    }

    /// Places the branches of the writer's tree at `level` (1-based) over `below`, grouped as
    /// the archive's own branches group them.
    pub fn parts_level(&mut self, below: &[Placed], level: usize) -> Vec<Placed> {
        let mut at = 0;
        let groups: Vec<usize> = self.parts.levels[level - 1].iter().map(Vec::len).collect();
        groups
            .into_iter()
            .map(|n| {
                let b = self.branch(&below[at..at + n], None);
                at += n;
                b
            })
            .collect()
    }

    /// Places a branch at the end of INDEX whose only child is itself: its child record
    /// gives its own offset, length and CRC (the CRC found by solving CRC32's affine
    /// equation, so that the chain holds). `entries` is a first guess at the count it
    /// claims; the count is moved up until the equation has a solution, and the node's count
    /// is returned in its [`Placed`].
    pub fn self_branch(&mut self, entries: u64, first: Vec<u8>, last: Vec<u8>) -> Placed {
        let offset = self.index.len() as u64;
        for entries in entries.. {
            // The length depends on its own varint: find the fixed point.
            let mut len = 1u32;
            let node = |len: u32, crc: u32| {
                encode_branch(&[Child {
                    first_entry: 0,
                    entries,
                    offset,
                    len,
                    crc,
                    sep: Vec::new(),
                }])
            };
            while node(len, 0).len() as u32 != len {
                len = node(len, 0).len() as u32;
            }
            if let Some(crc) = fixed_point_crc(|x| node(len, x)) {
                let bytes = node(len, crc);
                assert_eq!(format::crc32(&bytes), crc);
                return self.place(&bytes, entries, first, last);
            }
        }
        unreachable!()
    }

    /// Lays the file out: the archive's prelude with this INDEX, `root` (a branch or a page)
    /// at `depth`, `entry_count`; the other sections as the archive has them.
    pub fn finish(&self, root: &[u8], depth: u8, entry_count: u64) -> Vec<u8> {
        assemble(self.parts, &self.index, root, depth, entry_count)
    }
}

/// The file of `parts` with INDEX, the root, `index_depth` and `entry_count` replaced.
pub fn assemble(parts: &Parts, index: &[u8], root: &[u8], depth: u8, entry_count: u64) -> Vec<u8> {
    let data: Vec<u8> = parts.stored.concat();
    let mut at = header::prelude_len(
        parts.order.len(),
        parts.meta.len(),
        parts.ctypes.len(),
        root.len(),
    ) as u64;
    let mut body = Vec::new();
    let mut recs = Vec::new();
    for id in &parts.order {
        let b: &[u8] = match SectionId::from_u32(*id) {
            Some(SectionId::Dict) => &parts.dict,
            Some(SectionId::Index) => index,
            Some(SectionId::Data) => &data,
            None => parts
                .unknown
                .iter()
                .find(|(u, _)| u == id)
                .map_or(&[][..], |(_, b)| b),
        };
        recs.push(SectionRecord {
            id: *id,
            offset: at,
            length: b.len() as u64,
            crc: format::crc32(b),
        });
        at += b.len() as u64;
        body.extend_from_slice(b);
    }
    let mut h = parts.header.clone();
    h.file_len = at;
    h.index_depth = depth;
    h.entry_count = entry_count;
    let mut out = header::encode_prelude(&h, &recs, &parts.meta, &parts.ctypes, root);
    out.extend_from_slice(&body);
    out
}

/// The archive laid out again through a [`Builder`], as the writer's tree groups it.
pub fn rebuild(parts: &Parts) -> Vec<u8> {
    let mut b = Builder::new(parts);
    let mut nodes = b.pages();
    let depth = parts.levels.len();
    for level in 1..depth {
        nodes = b.parts_level(&nodes, level);
    }
    let (root, n, ..) = branch(&nodes, None);
    b.finish(&root, depth as u8, n)
}

/// The CRC `x` for which `crc32(node(x)) == x`, when there is one. CRC32 is affine over
/// GF(2) in the message's bits (for a fixed length): `crc(node(x)) = c ⊕ A·x`, so `x` solves
/// `(A ⊕ I)·x = c`, by Gaussian elimination.
pub fn fixed_point_crc(node: impl Fn(u32) -> Vec<u8>) -> Option<u32> {
    let c = format::crc32(&node(0));
    // Column i of (A ⊕ I): what flipping bit i of x does to crc(node(x)) ⊕ x.
    let cols: Vec<u32> = (0..32)
        .map(|i| format::crc32(&node(1 << i)) ^ c ^ (1 << i))
        .collect();
    // Basis by leading bit: (vector, which columns make it).
    let mut pivot: [Option<(u32, u32)>; 32] = [None; 32];
    for (i, &col) in cols.iter().enumerate() {
        let (mut v, mut comb) = (col, 1u32 << i);
        for bit in (0..32).rev() {
            if v & (1 << bit) == 0 {
                continue;
            }
            match pivot[bit] {
                Some((pv, pc)) => {
                    v ^= pv;
                    comb ^= pc;
                }
                None => {
                    pivot[bit] = Some((v, comb));
                    break;
                }
            }
        }
    }
    let (mut t, mut x) = (c, 0u32);
    for bit in (0..32).rev() {
        if t & (1 << bit) == 0 {
            continue;
        }
        let (pv, pc) = pivot[bit]?;
        t ^= pv;
        x ^= pc;
    }
    (t == 0).then_some(x)
}

// ---------------------------------------------------------------------------------------
// The archives the cases start from.

/// `n` entries with short bodies, titles, dates and metadata on some, keys `art/NNNN/...`
/// (in key order).
pub fn items(n: usize, seed: u64) -> Vec<Item> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let len = match i % 5 {
                0 => 0,
                1 => 1 + rng.below(20) as usize,
                _ => 40 + rng.below(120) as usize,
            };
            let mut it = Item::new(format!("art/{i:04}/x{}", i % 7), super::text(&mut rng, len));
            if i % 3 == 0 {
                it.title = Some(format!("Title {i}"));
            }
            if i % 4 == 1 {
                it.date = quire::Date::new(
                    2000 + (i as u16 % 30),
                    1 + (i as u8 % 12),
                    1 + (i as u8 % 28),
                );
            }
            if i % 7 == 2 {
                it.meta.push(("author".into(), format!("writer {i}")));
            }
            it
        })
        .collect()
}

/// A writer's archive of `n` entries in pages of at most `page_size` bytes, 512-byte blocks,
/// no dictionary.
pub fn writer_archive(n: usize, page_size: u32) -> (Vec<Item>, Vec<u8>) {
    let items = items(n, 18);
    let bytes = pack(
        &items,
        options(3, 512, DictionaryMode::Off, 1).page_size(page_size),
    );
    (items, bytes)
}

/// Where INDEX starts in a laid-out file (from its prelude alone: the index may be hostile).
pub fn index_start(bytes: &[u8]) -> u64 {
    let p = format::Prelude::decode(bytes, bytes.len() as u64).expect("prelude");
    p.sections
        .iter()
        .find(|s| s.id == SectionId::Index as u32)
        .expect("INDEX")
        .offset
}

// ---------------------------------------------------------------------------------------
// The hostile files of issue 18, classes 1 to 5, each with what a reader must say.

/// Damage as the library reports it: where, and what.
pub type Damage = (Location, DamageKind);

/// What a reader must say about a crafted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Refused at open (constant work): every command fails at once with this code, and this
    /// damage when it is damage.
    Open {
        code: &'static str,
        damage: Option<Damage>,
    },
    /// Opens; then:
    Use {
        /// A lookup routed through the crafted part (by key, or by entry number) and the
        /// reading of its body; `None`: it answers (only full verification can tell).
        lookup: Option<Damage>,
        /// A walk in key order (iteration, listing; entries only, no body); `None`: the walk
        /// does not pass the crafted part's checks (a block, or what only verify checks).
        walk: Option<Damage>,
        /// Full verification: the problem it must report.
        verify: Damage,
        /// Whether verify reports this one problem and nothing else (§11: one fault, at the
        /// node where it is, no follow-on complaints).
        verify_alone: bool,
    },
}

/// One hostile file.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub class: u8,
    pub bytes: Vec<u8>,
    /// Keys of the entries the file was made from (some may be absent from it).
    pub keys: Vec<String>,
    /// Nodes of INDEX (every node but the root).
    pub nodes: u64,
    /// A key whose lookup goes through the crafted part.
    pub routed: String,
    pub expect: Expect,
}

impl Case {
    /// The §11 code of the fault.
    pub fn code(&self) -> &'static str {
        match &self.expect {
            Expect::Open { code, .. } => code,
            Expect::Use { verify, .. } => quire::error::damage_code(verify.0, verify.1),
        }
    }
}

fn node(kind: DamageKind, bytes: &[u8], p: &Placed) -> Damage {
    (Location::Node(index_start(bytes) + p.offset), kind)
}

fn keys_of(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.clone()).collect()
}

/// `n` items split in `k` runs as even as can be.
pub fn groups(n: usize, k: usize) -> Vec<Range<usize>> {
    (0..k).map(|j| j * n / k..(j + 1) * n / k).collect()
}

/// The base of the index cases: a writer's archive of 1200 entries in pages of at most 64
/// bytes (two entries a page, 500-odd pages), 512-byte blocks, no dictionary.
pub fn index_base() -> (Vec<Item>, Parts) {
    let (items, bytes) = writer_archive(1200, 64);
    let parts = Parts::parse(&bytes);
    assert_eq!(
        rebuild(&parts),
        bytes,
        "the builder lays out what the writer does"
    );
    (items, parts)
}

/// The first and last keys of pages `r`.
fn span(parts: &Parts, r: &Range<usize>) -> (Vec<u8>, Vec<u8>) {
    let first = parts.pages[r.start].entries[0].key.clone().into_bytes();
    let last = parts.pages[r.end - 1]
        .entries
        .last()
        .expect("entries")
        .key
        .clone()
        .into_bytes();
    (first, last)
}

fn entries_in(parts: &Parts, r: &Range<usize>) -> u64 {
    parts.pages[r.clone()]
        .iter()
        .map(|p| p.entries.len() as u64)
        .sum()
}

/// The separators a branch over these runs of pages has (the writer's choice).
fn seps_over(parts: &Parts, runs: &[Range<usize>]) -> Vec<Vec<u8>> {
    runs.iter()
        .enumerate()
        .map(|(j, r)| {
            if j == 0 {
                Vec::new()
            } else {
                separator(&span(parts, &runs[j - 1]).1, &span(parts, r).0)
            }
        })
        .collect()
}

/// A depth-2 tree over `parts`' pages: four level-1 branches. `edit(j, builder, pages of
/// run j)` may place branch `j` itself (returning it) or leave it to the default.
fn depth2(
    parts: &Parts,
    skip_pages: impl FnMut(usize) -> bool,
    edit: impl FnMut(usize, &mut Builder<'_>, &[Vec<Placed>]) -> Option<Placed>,
) -> Laid {
    depth2_junk(parts, Junk::default(), skip_pages, edit)
}

/// Bytes of INDEX that are no node: before the first page, between the pages and the
/// level-1 branches, after the last node.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junk {
    pub before: usize,
    pub between: usize,
    pub after: usize,
}

fn junk(b: &mut Builder<'_>, n: usize) {
    b.index.extend((0..n).map(|i| i as u8 | 0x80));
}

/// [`depth2`], with junk in INDEX.
fn depth2_junk(
    parts: &Parts,
    j: Junk,
    mut skip_pages: impl FnMut(usize) -> bool,
    mut edit: impl FnMut(usize, &mut Builder<'_>, &[Vec<Placed>]) -> Option<Placed>,
) -> Laid {
    let runs = groups(parts.pages.len(), 4);
    let mut b = Builder::new(parts);
    junk(&mut b, j.before);
    let pages: Vec<Vec<Placed>> = runs
        .iter()
        .enumerate()
        .map(|(j, r)| {
            if skip_pages(j) {
                Vec::new()
            } else {
                r.clone().map(|i| b.page(i)).collect()
            }
        })
        .collect();
    junk(&mut b, j.between);
    let l1: Vec<Placed> = (0..runs.len())
        .map(|j| match edit(j, &mut b, &pages) {
            Some(p) => p,
            None => b.branch(&pages[j], None),
        })
        .collect();
    junk(&mut b, j.after);
    let seps = seps_over(parts, &runs);
    let (root, n, ..) = branch(&l1, Some(&seps));
    Laid {
        bytes: b.finish(&root, 2, n),
        nodes: b.nodes as u64,
        pages,
        upper: l1,
    }
}

/// A tree laid out: the file, its nodes' count, its pages (by run) and the level above them
/// (depth 2) or the level under the root (depth 3).
pub struct Laid {
    pub bytes: Vec<u8>,
    pub nodes: u64,
    pub pages: Vec<Vec<Placed>>,
    pub upper: Vec<Placed>,
}

/// A depth-3 tree over `parts`' pages: 12 level-1 branches, three level-2 branches of
/// four; `edit(j, builder, level-1 branches)` may place level-2 branch `j` itself.
fn depth3(
    parts: &Parts,
    mut edit: impl FnMut(usize, &mut Builder<'_>, &[Placed]) -> Option<Placed>,
) -> Laid {
    let runs = groups(parts.pages.len(), 12);
    let mut b = Builder::new(parts);
    let pages = b.pages();
    let l1: Vec<Placed> = runs
        .iter()
        .map(|r| b.branch(&pages[r.clone()], None))
        .collect();
    let l2: Vec<Placed> = (0..3)
        .map(|j| match edit(j, &mut b, &l1) {
            Some(p) => p,
            None => b.branch(&l1[4 * j..4 * j + 4], None),
        })
        .collect();
    let seps: Vec<Vec<u8>> = (0..3)
        .map(|j| {
            if j == 0 {
                Vec::new()
            } else {
                separator(&l1[4 * j - 1].last, &l1[4 * j].first)
            }
        })
        .collect();
    let (root, n, ..) = branch(&l2, Some(&seps));
    Laid {
        bytes: b.finish(&root, 3, n),
        nodes: b.nodes as u64,
        pages: vec![pages],
        upper: l2,
    }
}

/// Class 1: a branch whose child is itself (its CRC chosen to match), in a tree of depth 2
/// (the child is read where a page must be) and of depth 3 (where a branch may be: only the
/// rule that children lie before their parent stops it).
pub fn class1() -> Vec<Case> {
    let (items, parts) = index_base();
    let runs = groups(parts.pages.len(), 4);
    let mut out = Vec::new();
    // Depth 2: level-1 branch 1 (its pages dropped) is its own child.
    let (e1, (f1, l1)) = (entries_in(&parts, &runs[1]), span(&parts, &runs[1]));
    let Laid {
        bytes,
        upper,
        nodes,
        ..
    } = depth2(
        &parts,
        |j| j == 1,
        |j, b, _| (j == 1).then(|| b.self_branch(e1, f1.clone(), l1.clone())),
    );
    let at = node(DamageKind::Violates(Rule::NodePlace), &bytes, &upper[1]);
    out.push(Case {
        name: "class1-self-child-depth2".into(),
        class: 1,
        nodes,
        routed: parts.pages[runs[1].start + 3].entries[0].key.clone(),
        keys: keys_of(&items),
        expect: Expect::Use {
            lookup: Some(at),
            walk: Some(at),
            verify: at,
            verify_alone: true,
        },
        bytes,
    });
    // Depth 3: level-2 branch 1 is its own child.
    let l1_runs = groups(parts.pages.len(), 12);
    let pages_of_c1 = l1_runs[4].start..l1_runs[7].end;
    let (e, (f, l)) = (entries_in(&parts, &pages_of_c1), span(&parts, &pages_of_c1));
    let Laid {
        bytes,
        upper,
        nodes,
        ..
    } = depth3(&parts, |j, b, _| {
        (j == 1).then(|| b.self_branch(e, f.clone(), l.clone()))
    });
    let at = node(DamageKind::Violates(Rule::NodePlace), &bytes, &upper[1]);
    out.push(Case {
        name: "class1-self-child-depth3".into(),
        class: 1,
        nodes,
        routed: parts.pages[pages_of_c1.start + 10].entries[0].key.clone(),
        keys: keys_of(&items),
        expect: Expect::Use {
            lookup: Some(at),
            walk: Some(at),
            verify: at,
            verify_alone: true,
        },
        bytes,
    });
    out
}

/// Class 2: branches that share children. A small DAG whose count passes the open bound
/// (level-1 branch 1 lists branch 0's pages), and bombs that multiply the count through
/// sharing at every level, which the open bound refuses.
pub fn class2() -> Vec<Case> {
    let (items, parts) = index_base();
    let runs = groups(parts.pages.len(), 4);
    let mut out = Vec::new();
    let Laid {
        bytes,
        upper,
        nodes,
        pages,
    } = depth2(
        &parts,
        |j| j == 1,
        |j, b, pages| (j == 1).then(|| b.branch(&pages[0], None)),
    );
    // A lookup routed to branch 1 finds separators outside its bounds (§6.3); a walk reaches
    // branch 0's first page a second time, out of place (§6.4).
    let lookup = node(DamageKind::Violates(Rule::KeyBounds), &bytes, &upper[1]);
    let walk = node(DamageKind::Violates(Rule::NodePlace), &bytes, &pages[0][0]);
    out.push(Case {
        name: "class2-shared-children".into(),
        class: 2,
        nodes,
        routed: parts.pages[runs[1].start + 3].entries[0].key.clone(),
        keys: keys_of(&items),
        expect: Expect::Use {
            lookup: Some(lookup),
            walk: Some(walk),
            verify: walk,
            verify_alone: true,
        },
        bytes,
    });
    out.push(bomb(&parts, &items, 3, 400));
    out.push(bomb(&parts, &items, 4, 40));
    out
}

/// A DAG of `depth` levels over every page: four level-1 branches over them, then at each
/// level above `fan` branches that all list every branch of the level below; the root
/// lists those of the level under it. Its entry count is the real one times `fan` to the
/// power `depth − 1`.
pub fn bomb(parts: &Parts, items: &[Item], depth: u8, fan: usize) -> Case {
    let runs = groups(parts.pages.len(), 4);
    let mut b = Builder::new(parts);
    let pages = b.pages();
    let mut level: Vec<Placed> = runs
        .iter()
        .map(|r| b.branch(&pages[r.clone()], None))
        .collect();
    for _ in 2..depth {
        let below = level.clone();
        level = (0..fan).map(|_| b.branch(&below, None)).collect();
    }
    // Every child of the root covers all keys: their separators can only be made
    // increasing; the root is refused for its count before they matter.
    let seps: Vec<Vec<u8>> = (0..level.len())
        .map(|i| {
            if i == 0 {
                Vec::new()
            } else {
                format!("{i:08}").into_bytes()
            }
        })
        .collect();
    let (root, n, ..) = branch(&level, Some(&seps));
    assert!(
        n >= 400 * items.len() as u64,
        "a bomb claims many entries: {n}"
    );
    let bytes = b.finish(&root, depth, n);
    Case {
        name: format!("class2-bomb-depth{depth}"),
        class: 2,
        nodes: b.nodes as u64,
        routed: items[10].key.clone(),
        keys: keys_of(items),
        expect: Expect::Open {
            code: "damaged_node",
            damage: Some((Location::Root, DamageKind::Violates(Rule::EntryBound))),
        },
        bytes,
    }
}

// ---------------------------------------------------------------------------------------
// zstd frames that break §5.

/// One zstd frame of `total` zeros (a multiple of 1 MiB) whose header declares a window of
/// `2^window_log` bytes and the `total` bytes of content: a bomb that meets §5's window rule
/// for a block of `2^window_log` bytes once its declared size is changed to that.
pub fn windowed_bomb(window_log: u32, total: u64) -> Vec<u8> {
    use std::io::Write;
    use zstd::zstd_safe::CParameter;
    const MIB: u64 = 1 << 20;
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).expect("encoder");
    enc.set_parameter(CParameter::WindowLog(window_log))
        .expect("param");
    enc.include_contentsize(true).expect("param");
    enc.set_pledged_src_size(Some(total)).expect("pledge");
    enc.include_checksum(false).expect("param");
    let zeros = vec![0u8; MIB as usize];
    for _ in 0..total / MIB {
        enc.write_all(&zeros).expect("compress");
    }
    let f = enc.finish().expect("finish");
    assert_eq!(f[4] & 0x20, 0, "a window descriptor, not a single segment");
    assert_eq!(
        u32::from(f[5] >> 3) + 10,
        window_log,
        "the window asked for"
    );
    f
}

/// A copy of a zstd frame whose header declares `size` bytes of content instead (the size
/// must fit the frame's content size field, which is kept as it is).
pub fn with_declared_size(frame: &[u8], size: u64) -> Vec<u8> {
    let mut f = frame.to_vec();
    assert_eq!(f[..4], [0x28, 0xB5, 0x2F, 0xFD], "zstd magic");
    let fhd = f[4];
    let single_segment = fhd & 0x20 != 0;
    let dict_id = [0, 1, 2, 4][usize::from(fhd & 3)];
    let at = 5 + usize::from(!single_segment) + dict_id;
    let (width, stored) = match fhd >> 6 {
        0 if single_segment => (1, size),
        1 => (2, size - 256),
        2 => (4, size),
        3 => (8, size),
        _ => panic!("the frame has no content size field"),
    };
    assert!(
        width == 8 || stored < 1 << (8 * width),
        "{size} does not fit"
    );
    f[at..at + width].copy_from_slice(&stored.to_le_bytes()[..width]);
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(&f).ok().flatten(),
        Some(size)
    );
    f
}

/// A zstd frame of `raw` (at least 256 bytes) as the writer makes it, but with a
/// `Window_Descriptor` declaring `2^log` bytes instead of the `Single_Segment` flag: it
/// decodes to `raw` all the same, and breaks §5's window rule when `2^log` is over the block.
pub fn wide_window_frame(raw: &[u8], log: u8) -> Vec<u8> {
    let mut f = super::frame(raw);
    assert_ne!(f[4] & 0x20, 0, "a single-segment frame");
    assert_ne!(f[4] >> 6, 0, "a content size field of 2 bytes or more");
    f[4] &= !0x20;
    f.insert(5, (log - 10) << 3);
    assert_eq!(
        zstd::bulk::decompress(&f, raw.len()).expect("it decodes"),
        raw,
        "the frame is valid zstd"
    );
    f
}

// ---------------------------------------------------------------------------------------
// Class 3: blocks over the limit, and a huge block of zeros.

/// "a" (a short body), then "zeros" (`len` zero bytes) in blocks of up to 4 MiB: the zeros
/// fill block 1 alone.
pub fn zeros_archive(len: usize) -> (Vec<Item>, Vec<u8>) {
    let items = vec![
        Item::new("a", b"a short body".to_vec()),
        Item::new("zeros", vec![0u8; len]),
    ];
    let bytes = pack(&items, options(3, 4 << 20, DictionaryMode::Off, 1));
    (items, bytes)
}

/// The largest block a 3.1 file may hold: 4 MiB of zeros (valid: it reads).
pub fn zero_block() -> (Vec<Item>, Vec<u8>) {
    let (items, bytes) = zeros_archive(format::MAX_BLOCK_LEN as usize);
    let parts = Parts::parse(&bytes);
    assert_eq!(parts.blocks.len(), 2);
    assert_eq!(parts.blocks[1].raw_len, format::MAX_BLOCK_LEN);
    assert_eq!(parts.header.max_block_len, format::MAX_BLOCK_LEN);
    (items, bytes)
}

pub fn class3() -> Vec<Case> {
    let limit = format::MAX_BLOCK_LEN;
    let (items, bytes) = zero_block();
    let base = Parts::parse(&bytes);
    // Block 1 and the zeros one byte longer: a block over the limit, every CRC valid.
    let grown = {
        let mut p = base.clone();
        let zeros = vec![0u8; limit as usize + 1];
        p.stored[1] = super::frame(&zeros);
        p.blocks[1].raw_len = limit + 1;
        p.blocks[1].raw_crc = format::crc32(&zeros);
        p.blocks[1].codec = format::Codec::Zstd as u8;
        p.sync_blocks(true);
        p.entry_mut(1).body_len += 1;
        p.header.stream_len += 1;
        p
    };
    let case = |name: &str, bytes: Vec<u8>, expect| Case {
        name: name.into(),
        class: 3,
        bytes,
        keys: keys_of(&items),
        nodes: 0,
        routed: "zeros".into(),
        expect,
    };
    let mut out = Vec::new();
    // The header says so: damage in a 3.1 file; a 3.0 file of such blocks is refused.
    let mut p = grown.clone();
    p.header.max_block_len = limit + 1;
    out.push(case(
        "class3-block-over-limit-3.1",
        p.to_bytes(),
        Expect::Open {
            code: "damaged_prelude",
            damage: Some((
                Location::Prelude,
                DamageKind::OverLimit {
                    value: u64::from(limit) + 1,
                    limit: limit.into(),
                },
            )),
        },
    ));
    p.header.minor = 0;
    out.push(case(
        "class3-block-over-limit-3.0",
        p.to_bytes(),
        Expect::Open {
            code: "unsupported_feature",
            damage: None,
        },
    ));
    // The header keeps to the limit; the block's record does not.
    out.push(case(
        "class3-record-over-limit",
        grown.to_bytes(),
        Expect::Open {
            code: "damaged_node",
            damage: Some((Location::Root, DamageKind::Violates(Rule::BlockLength))),
        },
    ));
    // A frame in a 4 MiB window that declares the block's 4 MiB and holds 64 MiB of zeros:
    // every rule of §5 that a header can show holds; zstd must stop at the 4 MiB asked for.
    let mut p = base.clone();
    p.stored[1] = with_declared_size(&windowed_bomb(22, 64 << 20), limit.into());
    p.blocks[1].codec = format::Codec::Zstd as u8;
    p.sync_blocks(true);
    let at = (Location::Block(1), DamageKind::Undecodable);
    out.push(case(
        "class3-zero-bomb",
        p.to_bytes(),
        Expect::Use {
            lookup: Some(at),
            walk: None,
            verify: at,
            verify_alone: true,
        },
    ));
    out
}

// ---------------------------------------------------------------------------------------
// Class 4: what 3.0's verify let pass.

/// An archive whose later entries share the bodies of earlier ones (the writer's dedup),
/// every entry with a title: pages of at most 256 bytes over 512-byte blocks.
pub fn shared_base() -> (Vec<Item>, Vec<u8>) {
    let mut rng = Rng::new(7);
    let mut items: Vec<Item> = Vec::new();
    for i in 0..80 {
        let body = if i % 6 == 5 {
            items[i - 4].body.clone()
        } else {
            let n = 70 + rng.below(80) as usize;
            super::text(&mut rng, n)
        };
        let mut it = Item::new(format!("doc/{i:03}"), body);
        it.title = Some(format!("Title of document {i}"));
        items.push(it);
    }
    let bytes = pack(
        &items,
        options(3, 512, DictionaryMode::Off, 1).page_size(256),
    );
    (items, bytes)
}

/// In `shared_base`, a shared entry `s` and an entry `z` whose lead (title) `s`'s body can
/// be pointed into, 1 byte in, in the blocks of `s`'s page and before `s`'s own lead: with
/// `z` in the same page as `s` or in an earlier one.
fn shared_into_lead(an: &super::Anatomy, same_page: bool) -> (usize, usize) {
    for s in 0..an.len() {
        let es = an.entry(s);
        if es.shared_body_at.is_none() {
            continue;
        }
        let (ps, _) = an.locate(s);
        for z in (0..s).rev() {
            let ez = an.entry(z);
            let at = ez.lead_at + 1;
            let end = at + es.body_len;
            let (pz, _) = an.locate(z);
            let in_blocks = an.blocks_in(at, es.body_len).iter().all(|b| {
                ps.head
                    .run
                    .iter()
                    .chain(&ps.head.foreign)
                    .any(|r| r.number == *b)
            });
            if ez.lead_len >= 2
                && end <= es.lead_at
                && in_blocks
                && (pz.range == ps.range) == same_page
            {
                return (s, z);
            }
        }
    }
    panic!("no shared entry to point into a lead (same page: {same_page})");
}

pub fn class4() -> Vec<Case> {
    let mut out = Vec::new();
    let (items, parts) = index_base();
    // A block frame declaring a 128 MiB window for a block of about 512 bytes (§5).
    let victim = 602; // a body of 40 bytes or more
    let an = super::Anatomy::of(&parts.to_bytes());
    let b = an.body_blocks(victim)[0] as usize;
    let mut p = parts.clone();
    let raw = p.raw_block(b);
    p.stored[b] = wide_window_frame(&raw, 27);
    p.blocks[b].codec = format::Codec::Zstd as u8;
    p.sync_blocks(true);
    let laid = depth2(&p, |_| false, |_, _, _| None);
    let at = (
        Location::Block(b as u32),
        DamageKind::Frame(format::blocks::FrameProblem::Window),
    );
    out.push(Case {
        name: "class4-window-128MiB".into(),
        class: 4,
        bytes: laid.bytes,
        keys: keys_of(&items),
        nodes: laid.nodes,
        routed: items[victim].key.clone(),
        expect: Expect::Use {
            lookup: Some(at),
            walk: None,
            verify: at,
            verify_alone: true,
        },
    });
    // Bytes after the last node: the root's children end before INDEX does (§6.4).
    let laid = depth2_junk(
        &parts,
        Junk {
            after: 16,
            ..Junk::default()
        },
        |_| false,
        |_, _, _| None,
    );
    out.push(Case {
        name: "class4-bytes-after-the-last-node".into(),
        class: 4,
        bytes: laid.bytes,
        keys: keys_of(&items),
        nodes: laid.nodes,
        routed: items[victim].key.clone(),
        expect: Expect::Open {
            code: "damaged_node",
            damage: Some((Location::Root, DamageKind::Violates(Rule::NodePlace))),
        },
    });
    // Bytes between the pages and the branches over them, and before the first page: a
    // lookup or a walk cannot see them in O(1) work a node; full verification does (§6.4).
    for (name, j) in [
        (
            "class4-bytes-between-levels",
            Junk {
                between: 16,
                ..Junk::default()
            },
        ),
        (
            "class4-bytes-before-the-first-page",
            Junk {
                before: 16,
                ..Junk::default()
            },
        ),
    ] {
        let laid = depth2_junk(&parts, j, |_| false, |_, _, _| None);
        let first_out_of_place = if j.before > 0 {
            &laid.pages[0][0]
        } else {
            &laid.upper[0]
        };
        let at = node(
            DamageKind::Violates(Rule::NodePlace),
            &laid.bytes,
            first_out_of_place,
        );
        out.push(Case {
            name: name.into(),
            class: 4,
            nodes: laid.nodes,
            routed: items[victim].key.clone(),
            keys: keys_of(&items),
            expect: Expect::Use {
                lookup: None,
                walk: None,
                verify: at,
                verify_alone: true,
            },
            bytes: laid.bytes,
        });
    }
    // A shared body pointing into another entry's lead (§7.2). In the same page, the page
    // is refused when it is parsed; into an earlier page's entry, only full verification
    // can tell (a reader would return those lead bytes as the body).
    let (items, bytes) = shared_base();
    let an = super::Anatomy::of(&bytes);
    assert_eq!(an.header.index_depth, 1);
    for same_page in [true, false] {
        let (s, z) = shared_into_lead(&an, same_page);
        let mut p = Parts::parse(&bytes);
        let lead = p.entries().nth(z).expect("entry").lead_at;
        p.entry_mut(s).shared_body_at = Some(lead + 1);
        let crafted = p.to_bytes();
        let page = an.locate(s).0.range.start as u64;
        let expect = if same_page {
            let at = (Location::Node(page), DamageKind::Violates(Rule::SharedBody));
            Expect::Use {
                lookup: Some(at),
                walk: Some(at),
                verify: at,
                verify_alone: true,
            }
        } else {
            Expect::Use {
                lookup: None,
                walk: None,
                verify: (
                    Location::Entry(s as u64),
                    DamageKind::Violates(Rule::SharedBody),
                ),
                verify_alone: true,
            }
        };
        out.push(Case {
            name: format!(
                "class4-shared-body-into-a-lead-{}",
                if same_page { "same-page" } else { "other-page" }
            ),
            class: 4,
            nodes: an.pages.len() as u64,
            routed: an.key(s),
            keys: keys_of(&items),
            expect,
            bytes: crafted,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Class 5: silent wrong answers.

/// The small base: 50 entries whose root is a page (index_depth 0).
pub fn root_page_base() -> (Vec<Item>, Vec<u8>) {
    let (items, bytes) = writer_archive(50, 16384);
    assert_eq!(super::get_field(&bytes, "index_depth"), 0);
    (items, bytes)
}

pub fn class5() -> Vec<Case> {
    let mut out = Vec::new();
    let (items, parts) = index_base();
    let runs = groups(parts.pages.len(), 4);
    // A separator above its child's first key (still below the next separator).
    let j = 5;
    let routed = parts.pages[runs[2].start + j].entries[0].key.clone();
    let laid = depth2(
        &parts,
        |_| false,
        |k, b, pages| {
            (k == 2).then(|| {
                let mut seps: Vec<Vec<u8>> = child_records(&pages[2], None)
                    .into_iter()
                    .map(|c| c.sep)
                    .collect();
                seps[j] = routed.clone().into_bytes();
                seps[j].push(0xFF);
                assert!(seps[j] < seps[j + 1]);
                b.branch(&pages[2], Some(&seps))
            })
        },
    );
    let at = node(
        DamageKind::Violates(Rule::KeyBounds),
        &laid.bytes,
        &laid.pages[2][j],
    );
    out.push(Case {
        name: "class5-separator-above-its-child".into(),
        class: 5,
        nodes: laid.nodes,
        routed: routed.clone(),
        keys: keys_of(&items),
        expect: Expect::Use {
            lookup: Some(at),
            walk: Some(at),
            verify: at,
            verify_alone: true,
        },
        bytes: laid.bytes,
    });
    // Keys out of order in a page of INDEX.
    let k = runs[1].start + 7;
    let mut p = parts.clone();
    assert!(p.pages[k].entries.len() >= 2);
    let routed = p.pages[k].entries[0].key.clone();
    let e = &mut p.pages[k].entries;
    let k1 = e[1].key.clone();
    e[1].key = std::mem::replace(&mut e[0].key, k1);
    let laid = depth2(&p, |_| false, |_, _, _| None);
    let page = &laid.pages[1][7];
    let at = node(DamageKind::Violates(Rule::KeyOrder), &laid.bytes, page);
    out.push(Case {
        name: "class5-keys-out-of-order-in-a-page".into(),
        class: 5,
        nodes: laid.nodes,
        routed,
        keys: keys_of(&items),
        expect: Expect::Use {
            lookup: Some(at),
            walk: Some(at),
            verify: at,
            verify_alone: true,
        },
        bytes: laid.bytes,
    });
    // Root pages that 3.0 opened: keys out of order, an impossible date, an oversize key.
    let (items, bytes) = root_page_base();
    let base = Parts::parse(&bytes);
    type RootEdit = (&'static str, fn(&mut Parts), DamageKind);
    let edits: [RootEdit; 3] = [
        (
            "class5-root-keys-out-of-order",
            |p| {
                let k = p.entry_mut(20).key.clone();
                p.entry_mut(20).key = std::mem::replace(&mut p.entry_mut(21).key, k);
            },
            DamageKind::Violates(Rule::KeyOrder),
        ),
        (
            "class5-root-impossible-date",
            |p| p.entry_mut(21).date = 20230229,
            DamageKind::ImpossibleDate(20230229),
        ),
        (
            // A restart entry's key of 5000 bytes: its suffix length is over 4096.
            "class5-root-oversize-key",
            |p| p.entry_mut(32).key = format!("{}{}", p.entry_mut(32).key, "k".repeat(5000)),
            DamageKind::Violates(Rule::RecordBounds),
        ),
    ];
    for (name, f, kind) in edits {
        let mut p = base.clone();
        f(&mut p);
        out.push(Case {
            name: name.into(),
            class: 5,
            bytes: p.to_bytes(),
            keys: keys_of(&items),
            nodes: 0,
            routed: items[21].key.clone(),
            expect: Expect::Open {
                code: "damaged_node",
                damage: Some((Location::Root, kind)),
            },
        });
    }
    out
}

/// Every case of classes 1 to 5.
pub fn all_cases() -> Vec<Case> {
    let mut v = class1();
    v.extend(class2());
    v.extend(class3());
    v.extend(class4());
    v.extend(class5());
    v
}

/// The mirror of class 5's separator: in level-1 branch 2 of the depth-2 index base, child
/// 5's separator is the last key of child 4 (separators still increasing). Returns the file
/// and that key.
pub fn separator_below(parts: &Parts) -> (Vec<u8>, String) {
    let runs = groups(parts.pages.len(), 4);
    let j = 5;
    let prev_last = parts.pages[runs[2].start + j - 1]
        .entries
        .last()
        .unwrap()
        .key
        .clone();
    let laid = depth2(
        parts,
        |_| false,
        |k, b, pages| {
            (k == 2).then(|| {
                let mut seps: Vec<Vec<u8>> = child_records(&pages[2], None)
                    .into_iter()
                    .map(|c| c.sep)
                    .collect();
                seps[j] = prev_last.clone().into_bytes();
                assert!(seps[j] > seps[j - 1]);
                b.branch(&pages[2], Some(&seps))
            })
        },
    );
    (laid.bytes, prev_last)
}

/// A walk that skips a node and meets a shared subtree again: depth 3; INDEX = P (16 KiB
/// that do not parse as a page), B (one child: P), then C0, X0, C1, X1, … C(m−1) (each C a
/// branch over B; each X one byte, a page where a branch must be); the root lists C0, X0,
/// C1, … Returns the file and its number of nodes.
pub fn revisit_after_skip(parts: &Parts, m: usize) -> (Vec<u8>, u64) {
    let mut b = Builder::new(parts);
    let mut garbage = vec![0xFFu8; 16384];
    garbage[0] = 0;
    let p = b.place(&garbage, 1, b"a".to_vec(), b"a".to_vec());
    let bb = b.branch(&[p], None);
    let mut level2 = Vec::new();
    for i in 0..m {
        level2.push(b.branch(std::slice::from_ref(&bb), None));
        if i + 1 < m {
            level2.push(b.place(&[0], 1, Vec::new(), Vec::new()));
        }
    }
    let seps: Vec<Vec<u8>> = (0..level2.len())
        .map(|i| {
            if i == 0 {
                Vec::new()
            } else {
                format!("{i:06}").into_bytes()
            }
        })
        .collect();
    let (root, n, ..) = branch(&level2, Some(&seps));
    (b.finish(&root, 3, n), b.nodes as u64)
}
