//! The reader and writer against hand-written documents, each other, and random input.

use serde_json::{json, Value};

use super::{from_slice, to_string};

fn read(s: &str) -> Value {
    from_slice(s.as_bytes())
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
        .0
}

fn refused(s: &str) -> String {
    from_slice(s.as_bytes())
        .expect_err(&format!("{s:?} should be refused"))
        .to_string()
}

#[test]
fn block_collections_and_compact_nesting() {
    let doc = "---\n# a ConfigMap\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x  # trailing\n  labels: {app: web, tier: \"1\"}\ndata:\n  empty:\n  list:\n  - a\n  - b: 1\n    c: [x, 'y z']\n  -\n  - - nested\n    - two\n...\n";
    assert_eq!(
        read(doc),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app": "web", "tier": "1"}},
            "data": {"empty": null, "list": ["a", {"b": 1, "c": ["x", "y z"]}, null, ["nested", "two"]]}})
    );
    assert_eq!(
        read("a:\n    - 1\n    - 2\nb: 3"),
        json!({"a": [1, 2], "b": 3})
    );
    assert_eq!(read(""), Value::Null);
    assert_eq!(read("# only a comment\n"), Value::Null);
    assert_eq!(read("[]"), json!([]));
    assert_eq!(read("{}"), json!({}));
}

#[test]
fn scalars_resolve_and_keys_become_strings() {
    assert_eq!(
        read("a: yes\nb: off\nc: ~\nd: 0755\ne: 1.0\nf: 1.5\ng: '0755'\nh: 2024-01-01\ni: -12\nj: 1e3"),
        json!({"a": true, "b": false, "c": null, "d": 493, "e": 1, "f": 1.5, "g": "0755",
            "h": "2024-01-01", "i": -12, "j": 1000})
    );
    assert_eq!(
        read("1: a\ntrue: b\non: c\n1.5: d\n"),
        json!({"1": "a", "true": "c", "1.5": "d"})
    );
    assert!(refused("a: .inf").contains("json: unsupported value: +Inf"));
    assert!(refused("~: a").contains("unsupported map key"));
}

#[test]
fn quoted_scalars_and_escapes() {
    assert_eq!(read(r#"'it''s'"#), json!("it's"));
    assert_eq!(
        read(r#""tab\there \"q\" \\ \x41\u00e9\U0001F600 \/""#),
        json!("tab\there \"q\" \\ Aé😀 /")
    );
    assert_eq!(read("\"a\n  b\n\n  c\""), json!("a b\nc"));
    assert_eq!(read("\"join\\\n   ed\""), json!("joined"));
    assert_eq!(
        read("plain text\n  continued\n\n  para"),
        json!("plain text continued\npara")
    );
    assert_eq!(
        read("url: http://x:80/a#b"),
        json!({"url": "http://x:80/a#b"})
    );
    assert!(refused(r#""\q""#).contains("unknown escape"));
    assert!(refused("'open").contains("end of stream"));
}

#[test]
fn block_scalars_with_chomping() {
    let doc = "clip: |\n  a\n   b\n\n  c\n\nstrip: |-\n  a\n\nkeep: |+\n  a\n\n\nfolded: >\n  one\n  two\n\n  three\n    indented\n  four\nindicator: |2\n    lead\nlast: >-\n  x\n";
    assert_eq!(
        read(doc),
        json!({"clip": "a\n b\n\nc\n", "strip": "a", "keep": "a\n\n\n",
            "folded": "one two\nthree\n  indented\nfour\n", "indicator": "  lead\n", "last": "x"})
    );
    assert_eq!(read("- |\n  in a list\n- b"), json!(["in a list\n", "b"]));
}

#[test]
fn what_is_not_supported_is_refused_with_its_place() {
    for (doc, want) in [
        ("a: &x 1\nb: *x", "line 1 column 4: anchors"),
        ("a: 1\nb: *x", "line 2 column 4: aliases"),
        ("a: !!str 1", "line 1 column 4: tags"),
        ("a:\n\tb: 1", "line 2 column 1: found a tab"),
        ("? a\n: b", "explicit keys"),
        (
            "a: 1\n---\nb: 2",
            "line 2 column 1: the body holds more than one YAML document",
        ),
        ("a: b: c", "mapping values are not allowed"),
        ("a: 1\n  b: 2", "line 2"),
        ("a:\n  - 1\n  b: 2", "line 3"),
        ("<<: {a: 1}", "merge keys"),
        ("[a, b", "closing ']'"),
        ("{a: 1", "closing '}'"),
    ] {
        let err = refused(doc);
        assert!(err.contains(want), "{doc:?}: {err}");
    }
}

#[test]
fn duplicate_keys_keep_the_last_and_are_reported() {
    let (value, duplicates) = from_slice(b"a: 1\nb: 2\na: 3\n").unwrap();
    assert_eq!(value, json!({"a": 3, "b": 2}));
    assert_eq!(duplicates, ["a"]);
}

#[test]
fn the_writer_uses_go_yaml_v2s_layout_and_quoting() {
    let value = json!({"b": [1, {"x": "y", "w": []}], "a": {"c": {}, "d": null},
        "s": ["true", "123", "", "null", "2024-01-01T00:00:00Z", "- x", "a: b", "#c", "1:20",
              "plain text", "it's", "tab\there", "é", " lead"],
        "multi": "one\ntwo\n", "strip": "one\ntwo", "keep": "x\n\n", "f": 1.5, "n": -3, "t": true});
    let want = "a:\n  c: {}\n  d: null\nb:\n- 1\n- w: []\n  x: \"y\"\nf: 1.5\nkeep: |+\n  x\n\nmulti: |\n  one\n  two\n\"n\": -3\ns:\n- \"true\"\n- \"123\"\n- \"\"\n- \"null\"\n- \"2024-01-01T00:00:00Z\"\n- '- x'\n- 'a: b'\n- '#c'\n- \"1:20\"\n- plain text\n- it's\n- \"tab\\there\"\n- é\n- ' lead'\nstrip: |-\n  one\n  two\nt: true\n";
    assert_eq!(to_string(&value), want);
    assert_eq!(to_string(&json!([[1, 2], [3]])), "- - 1\n  - 2\n- - 3\n");
    assert_eq!(to_string(&json!({})), "{}\n");
    assert_eq!(to_string(&json!("x")), "x\n");
}

#[test]
fn keys_sort_as_go_yaml_sorts_them() {
    let value = json!({"b": 1, "a10": 2, "a9": 3, "A": 4, "_x": 5, "1": 6});
    let keys: Vec<String> = to_string(&value)
        .lines()
        .map(|l| l.split(':').next().unwrap().trim_matches('"').to_string())
        .collect();
    // "_x" before "1": neither is a letter, and a run of no digits counts as 0.
    assert_eq!(keys, ["_x", "1", "A", "a9", "a10", "b"]);
}

fn samples() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "b"}},
            "data": {"yes": "no", "on": "off", "n": "0755", "f": "1.5", "empty": "", "nul": "~",
                "ts": "2001-12-14", "multi": "line 1\nline 2\n", "trail": "a \nb", "lead": "\n\nx",
                "tabbed": "a\tb\n", "uni": "héllo — 世界 😀", "quote": "'\"", "bs": "\\n",
                "colon": "a:b", "hash": "a #b", "dash": "-", "q": "?", "sp": "  ", "nl": "\n",
                "crlf": "a\r\nb", "ctl": "\u{1}\u{7f}\u{85}\u{2028}", "dots": "...", "dashes": "--- x"}}),
        json!([1, -2, 1.5, 1e-7, 1e300, true, false, null, [], {}, [[]], [{}], {"a": []}]),
        json!({"nested": {"deeper": [{"a": [{"b": {"c": "d"}}]}]}}),
        json!("just a string"),
        json!(42),
        json!(null),
    ]
}

#[test]
fn reading_what_was_written_gives_the_value_back_and_writing_again_is_stable() {
    for value in samples() {
        let yaml = to_string(&value);
        let back = read(&yaml);
        assert_eq!(back, value, "{yaml}");
        assert_eq!(to_string(&back), yaml);
    }
}

/// A small deterministic generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let alphabet: Vec<char> = " \n\t-:?,[]{}#&*!|>'\"%@`.~0123456789abcyn+\\\r\u{e9}"
        .chars()
        .collect();
    let seeds: Vec<String> = samples().iter().map(to_string).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..6000 {
        let text: String = if round % 2 == 0 {
            (0..rng.below(60))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        } else {
            let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(chars.len() + 1);
                match rng.below(3) {
                    0 if at < chars.len() => {
                        chars.remove(at);
                    }
                    1 if at < chars.len() => chars[at] = alphabet[rng.below(alphabet.len())],
                    _ => chars.insert(at, alphabet[rng.below(alphabet.len())]),
                }
            }
            chars.into_iter().collect()
        };
        if let Ok((value, _)) = from_slice(text.as_bytes()) {
            // Whatever is read, the writer's form of it reads back the same.
            let yaml = to_string(&value);
            assert_eq!(read(&yaml), value, "round {round}: {text:?} -> {yaml:?}");
        }
    }
}
