//! Shapes: a sweep's expressions compiled once per distinct structure, the parameters substituted.
//!
//! The combinations of a sweep mostly differ only in numbers (`rolling_mean(10)` vs `rolling_mean(20)`,
//! `rank <= 3` vs `rank <= 5`). An expression's *shape* is its JSON text with every number outside strings
//! replaced by one NUL byte (which valid JSON never holds, so text = shape + numbers, one to one). The first
//! expression of a shape is compiled node by node, and the compiler traces where each leaf and each numeric
//! literal came from (byte ranges, turned into shape positions): its [`Template`]. Every later expression of
//! that shape is compiled by cutting its leaves' texts at the same shape positions and parsing its literals'
//! numbers: one scan of the text instead of a walk that parses every node.
//!
//! Exact because no decision of the node-by-node compiler reads a number's value: it matches keys, node
//! kinds, op and function names and dtype names (strings, part of the shape) and the JSON structure; numbers
//! only ever end up inside a leaf's text or as a literal's value, which are what a template substitutes. (The
//! property test in `super::tests` compiles random expressions both ways and compares programs and leaves.)

use std::ops::Range;

use super::Instr;

/// One expression's text split into its shape and its numbers.
#[derive(Debug, Default)]
pub struct Shaped {
    /// The text with each number outside strings replaced by one NUL byte.
    pub shape: Vec<u8>,
    /// Byte ranges of the numbers in the text, in order.
    numbers: Vec<Range<usize>>,
    /// Shape positions of the numbers.
    at: Vec<usize>,
    /// `shift[k]`: how much longer the text is than the shape before the k-th number (`numbers.len() + 1`
    /// entries).
    shift: Vec<usize>,
}

impl Shaped {
    /// Split the JSON value that starts at `text[start]` into `self` (positions relative to `start`),
    /// reusing the buffers; the index just past the value. `text` must be valid JSON.
    pub fn split(&mut self, text: &str, start: usize) -> Option<usize> {
        self.shape.clear();
        self.numbers.clear();
        self.at.clear();
        self.shift.clear();
        let b = text.as_bytes();
        let (mut i, mut shift, mut depth) = (start, 0, 0usize);
        loop {
            match *b.get(i)? {
                b'"' => {
                    let from = i;
                    i += 1;
                    loop {
                        match *b.get(i)? {
                            b'"' => break,
                            b'\\' => i += 2,
                            _ => i += 1,
                        }
                    }
                    i += 1;
                    self.shape.extend_from_slice(&b[from..i]);
                }
                b'-' | b'0'..=b'9' => {
                    let from = i;
                    while matches!(b.get(i), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                        i += 1;
                    }
                    self.numbers.push(from - start..i - start);
                    self.at.push(self.shape.len());
                    self.shift.push(shift);
                    shift += i - from - 1;
                    self.shape.push(0);
                }
                c => {
                    match c {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth = depth.checked_sub(1)?,
                        _ => {}
                    }
                    self.shape.push(c);
                    i += 1;
                    if depth == 0 && c.is_ascii_alphabetic() {
                        // true, false or null on its own
                        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_alphabetic()) {
                            self.shape.push(c);
                            i += 1;
                        }
                    }
                }
            }
            if depth == 0 {
                break;
            }
        }
        self.shift.push(shift);
        Some(i)
    }

    /// The text position of shape position `q` (at a value's start or just past its end).
    fn text_at(&self, q: usize) -> usize {
        q + self.shift[self.at.partition_point(|&a| a < q)]
    }

    /// The shape position of text position `p` (at a value's start or just past its end).
    fn shape_at(&self, p: usize) -> usize {
        p - self.shift[self.numbers.partition_point(|r| r.start < p)]
    }
}

/// Whether the compiler traces the instruction: a leaf or a literal.
pub fn traced(instr: &Instr) -> bool {
    matches!(instr, Instr::Leaf(_) | Instr::Const { .. })
}

/// Where a traced instruction's operand came from in the template's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A leaf: its shape range.
    Leaf(Range<usize>),
    /// A numeric literal: the index of its number.
    Number(usize),
    /// A boolean or null literal: the same in every expression of the shape.
    Fixed,
}

/// A shape's compiled program and, per `Leaf` / `Const` instruction in code order, its [`Origin`].
#[derive(Debug)]
pub struct Template {
    code: Vec<Instr>,
    origins: Vec<Origin>,
}

impl Template {
    /// The template of the expression `shaped`, compiled to `code` with the traced byte ranges `traced` (per
    /// `Leaf` / `Const` instruction in code order; None for a boolean or null literal). None when a trace
    /// does not fit (never for the compiler's traces).
    pub fn new(shaped: &Shaped, code: &[Instr], traced: &[Option<Range<usize>>]) -> Option<Self> {
        let mut origins = Vec::with_capacity(traced.len());
        let mut traced = traced.iter();
        for instr in code.iter().filter(|i| self::traced(i)) {
            let r = traced.next()?;
            origins.push(match (instr, r) {
                (Instr::Leaf(_), Some(r)) => Origin::Leaf(shaped.shape_at(r.start)..shaped.shape_at(r.end)),
                (Instr::Const { .. }, Some(r)) => {
                    Origin::Number(shaped.numbers.binary_search_by_key(&r.start, |n| n.start).ok()?)
                }
                (Instr::Const { .. }, None) => Origin::Fixed,
                _ => return None,
            });
        }
        traced.next().is_none().then(|| Self {
            code: code.to_vec(),
            origins,
        })
    }

    /// The program of `text` (split into `shaped`, of this template's shape), its leaves registered with
    /// `leaf` in code order; None when a number does not parse (never for valid JSON), before any leaf.
    pub fn instantiate(&self, text: &str, shaped: &Shaped, mut leaf: impl FnMut(&str) -> u32) -> Option<Vec<Instr>> {
        let mut code = self.code.clone();
        let mut texts = Vec::with_capacity(self.origins.len());
        for (instr, origin) in code.iter_mut().filter(|i| traced(i)).zip(&self.origins) {
            match (instr, origin) {
                (Instr::Const { value, .. }, Origin::Number(k)) => {
                    *value = text.get(shaped.numbers.get(*k)?.clone())?.parse().ok()?;
                }
                (Instr::Leaf(_), Origin::Leaf(r)) => {
                    texts.push(text.get(shaped.text_at(r.start)..shaped.text_at(r.end))?)
                }
                (Instr::Const { .. }, Origin::Fixed) => {}
                _ => return None,
            }
        }
        let mut texts = texts.into_iter();
        for instr in code.iter_mut() {
            if let Instr::Leaf(id) = instr {
                *id = leaf(texts.next()?);
            }
        }
        Some(code)
    }
}
