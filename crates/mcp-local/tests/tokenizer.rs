//! The tokenizer built from the installed GGUF's metadata. Expected ids come from Hugging
//! Face `tokenizers` configured as SmolLM2's `tokenizer.json` (Digits + ByteLevel BPE) over
//! the same vocabulary and merges.

mod common;

use mcp_local::tokenizer::Tokenizer;
use std::sync::OnceLock;

fn tok() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| mcp_local::load_tokenizer(&common::model_path()).expect("tokenizer"))
}

fn round_trip(s: &str) {
    let ids = tok().encode(s);
    assert_eq!(tok().decode(&ids), s, "ids {ids:?}");
    let ids = tok().encode_with_special(s);
    assert_eq!(tok().decode(&ids), s, "ids {ids:?}");
}

#[test]
fn vocabulary() {
    let t = tok();
    assert_eq!(t.vocab_size(), 49152);
    assert_eq!(t.eos(), Some(2));
    assert_eq!(t.special("<|endoftext|>"), Some(0));
    assert_eq!(t.special("<|im_start|>"), Some(1));
    assert_eq!(t.special("<|im_end|>"), Some(2));
    assert!(t.is_special(2) && !t.is_special(100));
}

#[test]
fn round_trips_ascii() {
    round_trip("Hello, world!");
    round_trip("The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.");
    round_trip("fn main() { println!(\"{}\", x + 1); } // don't panic");
    round_trip("!!! ??? ... --- *** ### $$$ %%% @@@ ^^^ ~~~ `` ''");
    round_trip("numbers 1234567890 3.14159 1,000,000");
    round_trip("");
}

#[test]
fn round_trips_unicode() {
    round_trip("naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어, עברית");
    round_trip("emoji 🎉👍🏽 and combining e\u{301} and हिन्दी தமிழ்");
    round_trip("nbsp\u{a0}em\u{2003}ideographic\u{3000}zero-width\u{200b}joiner\u{200d}");
    round_trip("١٢٣ ½ ² ⅷ");
}

#[test]
fn round_trips_whitespace() {
    round_trip(" ");
    round_trip("\n");
    round_trip("  leading spaces and trailing   ");
    round_trip("tabs\tand\nnewlines\n\n\nthree\r\nwindows\r\n");
    round_trip("    indented();\n        more();\n");
    round_trip(&" ".repeat(300));
    round_trip(&"\n".repeat(50));
}

#[test]
fn special_tokens_are_single_ids() {
    let t = tok();
    assert_eq!(t.encode_with_special("<|im_start|>"), [1]);
    assert_eq!(t.encode_with_special("<|im_end|>"), [2]);
    assert_eq!(t.encode_with_special("<|endoftext|>"), [0]);
    assert_eq!(
        t.encode_with_special("a<|endoftext|>b<|im_end|><filename>x"),
        [81, 0, 82, 2, 6, 104]
    );
    assert_eq!(
        t.encode_with_special(
            "<|im_start|>system\nYou are helpful<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        ),
        [1, 9690, 198, 2683, 359, 5356, 2, 198, 1, 4093, 198, 6004, 2, 198, 1, 520, 9531, 198]
    );
    // Plain encoding treats them as text: a request cannot forge the template's markers.
    let plain = t.encode("<|im_end|>");
    assert!(plain.len() > 1 && !plain.contains(&2), "{plain:?}");
    assert_eq!(t.decode(&plain), "<|im_end|>");
}

#[test]
fn matches_the_reference_tokenizer() {
    let t = tok();
    let cases: &[(&str, &[u32])] = &[
        ("Hello, world!", &[19556, 28, 905, 17]),
        (
            "Query: red running shoes size 42",
            &[22731, 42, 2382, 4108, 10582, 2203, 216, 36, 34],
        ),
        (
            "  leading spaces and trailing   ",
            &[216, 2899, 5600, 284, 35079, 333],
        ),
        (
            "tabs\tand\nnewlines\n\n\nthree\r\nwindows",
            &[
                100, 7366, 197, 397, 198, 2241, 5110, 1116, 198, 16347, 201, 198, 37066,
            ],
        ),
        (
            "don't won't I'm they're we've she'll he'd 'S",
            &[
                12420, 982, 3763, 982, 339, 5248, 502, 2316, 392, 3543, 1041, 3060, 384, 6737, 637,
                67,
            ],
        ),
        (
            "हिन्दी और தமிழ் scripts with combining marks",
            &[
                4300, 134, 27011, 30658, 16525, 44757, 37189, 12335, 238, 21891, 216, 19954, 114,
                19954, 123, 19954, 140, 19954, 129, 45758, 18487, 351, 9301, 8029,
            ],
        ),
        (
            "x\u{a0}nbsp and\u{2003}em space\u{3000}ideographic",
            &[
                104, 15442, 94, 32093, 284, 321, 221, 391, 1898, 12109, 218, 489, 4551,
            ],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(t.encode(text), *want, "{text:?}");
    }
}
