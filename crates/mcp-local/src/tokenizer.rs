//! A GPT-2 style byte-level BPE tokenizer built from a GGUF file's own metadata.
//!
//! SmolLM2 (`tokenizer.ggml.model = "gpt2"`, `tokenizer.ggml.pre = "smollm"`) tokenizes as
//! its Hugging Face `tokenizer.json` says:
//! 1. special tokens (token type 3, "control": `<|im_start|>`, `<|im_end|>`, `<|endoftext|>`,
//!    ...) are matched as whole tokens first, when the caller allows it;
//! 2. pre-tokenisation: every numeric character is a piece of its own (`Digits` with
//!    `individual_digits`), then the GPT-2 split
//!    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
//! 3. each piece's UTF-8 bytes are mapped to printable characters (the GPT-2 byte map) and
//!    merged pairwise by merge rank, lowest rank first.
//!
//! Decoding maps the token strings back to bytes. The `regex` crate has no look-ahead, so
//! `\s+(?!\S)` is done by hand: a run of several whitespace characters followed by text
//! gives its last character back to the next piece.

use regex::Regex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Why a tokenizer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad tokenizer metadata: {0}")]
pub struct TokenizerError(pub String);

/// The GGUF token types (`tokenizer.ggml.token_type`).
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;

/// The byte-level BPE tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// Each token's bytes, as decoding produces them.
    bytes: Vec<Vec<u8>>,
    /// Whether a token is special (control or user-defined): matched whole, never merged.
    special: Vec<bool>,
    /// Special tokens by text, longest first (so that a longer one wins at the same place).
    specials: Vec<(String, u32)>,
    /// The token for each single byte (its byte-map character), the start of BPE.
    byte_token: [Option<u32>; 256],
    /// `(left, right)` -> `(rank, merged)`.
    merges: HashMap<(u32, u32), (u32, u32)>,
    unknown: Option<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    pre: Regex,
}

/// The GPT-2 map from bytes to printable characters: the printable Latin-1 bytes stand for
/// themselves, the others are moved to U+0100 and up, in byte order.
fn byte_to_char() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        map[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).expect("U+0100..U+0143 are chars");
            next += 1;
            c
        };
    }
    map
}

/// The GPT-2 split without its look-ahead alternative (done by hand in [`Tokenizer::split`]).
const PRE_TOKENIZE: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";

impl Tokenizer {
    /// Builds the tokenizer from the vocabulary (`tokens`, byte-mapped strings as GGUF stores
    /// them), the token types (`None`: all normal) and the merges (`"left right"`, by rank).
    pub fn new(
        tokens: Vec<String>,
        token_types: Option<Vec<i32>>,
        merges: &[String],
        bos: Option<u32>,
        eos: Option<u32>,
        unknown: Option<u32>,
    ) -> Result<Tokenizer, TokenizerError> {
        if tokens.is_empty() {
            return Err(TokenizerError("the vocabulary is empty".into()));
        }
        if let Some(types) = &token_types {
            if types.len() != tokens.len() {
                return Err(TokenizerError(format!(
                    "{} token types for {} tokens",
                    types.len(),
                    tokens.len()
                )));
            }
        }
        let n = u32::try_from(tokens.len())
            .map_err(|_| TokenizerError("the vocabulary is too large".into()))?;
        for (what, id) in [("bos", bos), ("eos", eos), ("unknown", unknown)] {
            if let Some(id) = id {
                if id >= n {
                    return Err(TokenizerError(format!(
                        "the {what} token id {id} is outside the vocabulary ({n} tokens)"
                    )));
                }
            }
        }

        let to_char = byte_to_char();
        let mut from_char: HashMap<char, u8> = HashMap::with_capacity(256);
        for (b, c) in to_char.iter().enumerate() {
            from_char.insert(*c, b as u8);
        }

        let mut ids: HashMap<&str, u32> = HashMap::with_capacity(tokens.len());
        let mut bytes = Vec::with_capacity(tokens.len());
        let mut special = Vec::with_capacity(tokens.len());
        let mut specials = Vec::new();
        for (i, tok) in tokens.iter().enumerate() {
            let ty = token_types.as_ref().map_or(1, |t| t[i]);
            let is_special = ty == TYPE_CONTROL || ty == TYPE_USER_DEFINED;
            special.push(is_special);
            if is_special {
                bytes.push(tok.as_bytes().to_vec());
                if !tok.is_empty() {
                    specials.push((tok.clone(), i as u32));
                }
            } else {
                // A normal token is byte-mapped text; a character outside the map (which a
                // well-formed GPT-2 vocabulary does not have) is kept as its UTF-8.
                let mut b = Vec::with_capacity(tok.len());
                for c in tok.chars() {
                    match from_char.get(&c) {
                        Some(&byte) => b.push(byte),
                        None => {
                            let mut buf = [0u8; 4];
                            b.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                bytes.push(b);
            }
            // The first of duplicate strings wins, as in llama.cpp.
            ids.entry(tok.as_str()).or_insert(i as u32);
        }
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));

        let mut byte_token = [None; 256];
        for (b, c) in to_char.iter().enumerate() {
            let mut buf = [0u8; 4];
            byte_token[b] = ids.get(&*c.encode_utf8(&mut buf)).copied();
        }

        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (l, r) = m
                .split_once(' ')
                .ok_or_else(|| TokenizerError(format!("merge {rank} ({m:?}) has no space")))?;
            let (Some(&li), Some(&ri)) = (ids.get(l), ids.get(r)) else {
                return Err(TokenizerError(format!(
                    "merge {rank} ({m:?}) names a token that is not in the vocabulary"
                )));
            };
            let merged = format!("{l}{r}");
            let Some(&mi) = ids.get(merged.as_str()) else {
                return Err(TokenizerError(format!(
                    "merge {rank} ({m:?}) makes {merged:?}, which is not in the vocabulary"
                )));
            };
            merge_map.entry((li, ri)).or_insert((rank as u32, mi));
        }

        let pre = Regex::new(PRE_TOKENIZE).expect("the pre-tokenizer pattern is valid");
        Ok(Tokenizer {
            bytes,
            special,
            specials,
            byte_token,
            merges: merge_map,
            unknown,
            bos,
            eos,
            pre,
        })
    }

    /// The number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }

    /// The beginning-of-sequence token, if the model has one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the model has one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The id of a special token given by its text (`<|im_start|>`).
    pub fn special(&self, text: &str) -> Option<u32> {
        self.specials
            .iter()
            .find(|(t, _)| t == text)
            .map(|(_, id)| *id)
    }

    /// Whether `id` is a special token.
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    /// The bytes that `id` decodes to (its text for a special token; empty if out of range).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], |b| b.as_slice())
    }

    /// Encodes plain text: special-token strings in it are text like any other (so that text
    /// from a request cannot forge the chat template's markers).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_into(text, &mut out);
        out
    }

    /// Encodes text in which special tokens (`<|im_start|>`, ...) are recognised as single
    /// tokens; the text between them is encoded as by [`Tokenizer::encode`].
    pub fn encode_with_special(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut rest = text;
        while !rest.is_empty() {
            // The earliest special token; at the same place the longest (the list is sorted
            // longest first, and `min_by_key` keeps the first of equal keys).
            let found = self
                .specials
                .iter()
                .filter_map(|(t, id)| rest.find(t.as_str()).map(|at| (at, t.len(), *id)))
                .min_by_key(|(at, _, _)| *at);
            match found {
                Some((at, len, id)) => {
                    self.encode_into(&rest[..at], &mut out);
                    out.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    self.encode_into(rest, &mut out);
                    break;
                }
            }
        }
        out
    }

    /// Decodes tokens to text (special tokens as their text; invalid UTF-8 is replaced).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.token_bytes(id));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        self.split(text, |piece| self.bpe(piece, out));
    }

    /// Pre-tokenisation: digits alone, then the GPT-2 split of the text between them.
    fn split<'t>(&self, text: &'t str, mut emit: impl FnMut(&'t str)) {
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if c.is_numeric() {
                if start < i {
                    self.split_gpt2(&text[start..i], &mut emit);
                }
                let end = i + c.len_utf8();
                emit(&text[i..end]);
                start = end;
            }
        }
        if start < text.len() {
            self.split_gpt2(&text[start..], &mut emit);
        }
    }

    fn split_gpt2<'t>(&self, text: &'t str, emit: &mut impl FnMut(&'t str)) {
        let mut pos = 0;
        while pos < text.len() {
            // Every character starts a match of one alternative or another, so the match
            // starts at `pos`; the fallback only guards against a pattern change.
            let Some(m) = self.pre.find_at(text, pos) else {
                emit(&text[pos..]);
                return;
            };
            if m.start() > pos {
                emit(&text[pos..m.start()]);
            }
            let piece = m.as_str();
            if m.end() < text.len() && piece.chars().all(char::is_whitespace) {
                // `\s+(?!\S)`: a whitespace run followed by text keeps all but its last
                // character, which starts the next piece (` ?\p{L}+` takes a space).
                let last = piece.char_indices().last().map_or(0, |(i, _)| i);
                if last > 0 {
                    emit(&piece[..last]);
                    pos = m.start() + last;
                    continue;
                }
            }
            emit(piece);
            pos = m.end();
        }
    }

    /// Byte-pair encoding of one piece: start from one token per byte, then merge the pair
    /// with the lowest rank (leftmost first among equals) until no pair has a merge.
    fn bpe(&self, piece: &str, out: &mut Vec<u32>) {
        let bytes = piece.as_bytes();
        if bytes.is_empty() {
            return;
        }
        // Symbols as a linked list over the positions; `NONE` marks the ends.
        const NONE: usize = usize::MAX;
        let mut id: Vec<u32> = Vec::with_capacity(bytes.len());
        let mut unknown_bytes = false;
        for &b in bytes {
            match self.byte_token[b as usize] {
                Some(t) => id.push(t),
                None => {
                    unknown_bytes = true;
                    id.push(self.unknown.unwrap_or(0));
                }
            }
        }
        if id.len() == 1 {
            out.push(id[0]);
            return;
        }
        let n = id.len();
        let mut next: Vec<usize> = (1..=n).map(|i| if i == n { NONE } else { i }).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| if i == 0 { NONE } else { i - 1 }).collect();
        let mut alive = vec![true; n];

        // Candidates: (rank, left position, left id, right id, merged id); smallest first.
        let mut heap = BinaryHeap::new();
        let pair = |l: u32, r: u32| -> Option<(u32, u32)> {
            if unknown_bytes && (Some(l) == self.unknown || Some(r) == self.unknown) {
                return None;
            }
            self.merges.get(&(l, r)).copied()
        };
        for i in 0..n - 1 {
            if let Some((rank, m)) = pair(id[i], id[i + 1]) {
                heap.push(Reverse((rank, i, id[i], id[i + 1], m)));
            }
        }
        while let Some(Reverse((_, i, l, r, m))) = heap.pop() {
            let j = next[i];
            // Stale candidate: one side has merged since it was pushed.
            if !alive[i] || j == NONE || id[i] != l || id[j] != r {
                continue;
            }
            id[i] = m;
            alive[j] = false;
            next[i] = next[j];
            if next[j] != NONE {
                prev[next[j]] = i;
            }
            if prev[i] != NONE {
                let p = prev[i];
                if let Some((rank, mm)) = pair(id[p], m) {
                    heap.push(Reverse((rank, p, id[p], m, mm)));
                }
            }
            if next[i] != NONE {
                let k = next[i];
                if let Some((rank, mm)) = pair(m, id[k]) {
                    heap.push(Reverse((rank, i, m, id[k], mm)));
                }
            }
        }
        let mut i = 0;
        while i != NONE {
            out.push(id[i]);
            i = next[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: all 256 byte characters, a few merges, two specials.
    fn toy() -> Tokenizer {
        let map = byte_to_char();
        let mut tokens = vec!["<|endoftext|>".to_string(), "<|im_start|>".to_string()];
        let mut types = vec![3, 3];
        for c in map {
            tokens.push(c.to_string());
            types.push(1);
        }
        let merges: Vec<String> = ["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for m in &merges {
            tokens.push(m.replace(' ', ""));
            types.push(1);
        }
        Tokenizer::new(tokens, Some(types), &merges, None, Some(0), None).unwrap()
    }

    #[test]
    fn byte_map_is_a_bijection() {
        let map = byte_to_char();
        let mut seen = std::collections::HashSet::new();
        for c in map {
            assert!(seen.insert(c));
        }
        assert_eq!(map[b' ' as usize], 'Ġ');
        assert_eq!(map[b'\n' as usize], 'Ċ');
        assert_eq!(map[b'a' as usize], 'a');
    }

    #[test]
    fn merges_by_rank() {
        let t = toy();
        let ids = t.encode("hello wo");
        let text: Vec<String> = ids.iter().map(|&i| t.decode(&[i])).collect();
        assert_eq!(text, ["hello", " wo"]);
        assert_eq!(t.decode(&ids), "hello wo");
    }

    #[test]
    fn splits_like_gpt2() {
        let t = toy();
        let mut pieces = Vec::new();
        t.split("Hi  there\n\nyou're 42!  ", |p| pieces.push(p.to_string()));
        assert_eq!(
            pieces,
            ["Hi", " ", " there", "\n", "\n", "you", "'re", " ", "4", "2", "!", "  "]
        );
    }

    #[test]
    fn specials_only_when_asked() {
        let t = toy();
        assert_eq!(t.encode_with_special("<|im_start|>"), [1]);
        assert_eq!(t.encode_with_special("a<|endoftext|>b").len(), 3);
        assert!(t.encode("<|im_start|>").len() > 1);
        assert_eq!(t.decode(&t.encode("<|im_start|>")), "<|im_start|>");
    }
}
