//! Templates matched in reverse: each operator, what is refused, what stays absent.

use super::*;

fn m(template: &str, uri: &str) -> Option<UriVars> {
    UriTemplate::parse(template)
        .unwrap_or_else(|| panic!("{template} refused"))
        .matches(uri)
}

fn vars(template: &str, uri: &str) -> Vec<(String, String)> {
    m(template, uri)
        .unwrap_or_else(|| panic!("{uri} does not match {template}"))
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn matches_simple_variables() {
    let t = UriTemplate::parse("test://template/{id}/data").unwrap();
    assert_eq!(
        t.matches("test://template/123/data").unwrap().get("id"),
        Some("123")
    );
    assert!(t.matches("test://template//data").is_none());
    assert!(t.matches("test://template/1/2/data").is_none());
    assert!(t.matches("test://template/123/data/more").is_none());
    assert!(t.matches("test://other/123/data").is_none());
    let t = UriTemplate::parse("db://{table}/{row}.json").unwrap();
    let v = t.matches("db://users/42.json").unwrap();
    assert_eq!((v.get("table"), v.get("row")), (Some("users"), Some("42")));
    assert_eq!(t.var_names().collect::<Vec<_>>(), ["table", "row"]);
    let t = UriTemplate::parse("file:///{name}").unwrap();
    assert_eq!(
        t.matches("file:///a.txt").unwrap().get("name"),
        Some("a.txt")
    );
    // A simple variable stays inside the path: no query, no fragment.
    assert!(m("x://{a}", "x://p?q").is_none());
    assert!(m("x://{a}", "x://p#f").is_none());
    // Several variables in one expression, separated by commas.
    assert_eq!(
        vars("x://{a,b}", "x://1,2"),
        pairs(&[("a", "1"), ("b", "2")])
    );
}

#[test]
fn refuses_what_it_cannot_match_exactly() {
    for bad in [
        "x://{a",
        "x://a}",
        "x://{}",
        "x://{a}{b}",
        "x://{+a}{b}",
        "x://{/a}{+b}",
        "x://{+a,b}",
        "x://{#a,b}",
        "x://{/a*,b}",
        "x://{a}/{a}",
        "x://{a:0}",
        "x://{a*:3}",
        "x://{=a}",
        "x://{a b}",
        "x://{.a}{.a}",
        "x://{{a}}",
    ] {
        assert!(UriTemplate::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn reserved_expansion_spans_segments() {
    assert_eq!(
        vars("file:///{+path}", "file:///a/b/c.txt"),
        pairs(&[("path", "a/b/c.txt")])
    );
    assert!(m("file:///{+path}", "file:///").is_none(), "never empty");
    assert_eq!(
        vars("file:///{+path}{?rev}", "file:///a/b?rev=3"),
        pairs(&[("path", "a/b"), ("rev", "3")])
    );
    assert_eq!(
        vars("repo://{+path}/meta", "repo://a/b/meta"),
        pairs(&[("path", "a/b")])
    );
}

#[test]
fn path_segments_may_be_absent() {
    let t = "x://r{/a,b}";
    assert_eq!(vars(t, "x://r/1/2"), pairs(&[("a", "1"), ("b", "2")]));
    assert_eq!(vars(t, "x://r/1"), pairs(&[("a", "1")]));
    assert_eq!(vars(t, "x://r"), pairs(&[]));
    assert!(m(t, "x://r/1/2/3").is_none());
    assert!(m("x://r{/a}", "x://r/1/2").is_none());
    // Absent when what follows starts like it.
    assert_eq!(vars("x://r{/a}/end", "x://r/end"), pairs(&[]));
    assert_eq!(vars("x://r{/a}/end", "x://r/1/end"), pairs(&[("a", "1")]));
    let all = m("x://files{/path*}", "x://files/a/b/c").unwrap();
    assert_eq!(all.get("path"), Some("a/b/c"));
    assert_eq!(all.list("path").unwrap(), ["a", "b", "c"]);
    assert_eq!(
        vars("x://{a}{/rest*}", "x://top/x/y"),
        pairs(&[("a", "top"), ("rest", "x/y")])
    );
}

#[test]
fn query_parameters_by_name_in_any_order() {
    let t = "x://search{?q,lang}";
    let both = pairs(&[("lang", "en"), ("q", "rust")]);
    assert_eq!(vars(t, "x://search?q=rust&lang=en"), both);
    assert_eq!(vars(t, "x://search?lang=en&q=rust"), both);
    assert_eq!(vars(t, "x://search"), pairs(&[]));
    assert_eq!(vars(t, "x://search?q="), pairs(&[("q", "")]));
    assert_eq!(vars(t, "x://search?q"), pairs(&[("q", "")]));
    assert_eq!(vars(t, "x://search?q=a=b"), pairs(&[("q", "a=b")]));
    for bad in [
        "x://search?q=1&q=2",
        "x://search?other=1",
        "x://search?q=1#frag",
        "x://search/more",
    ] {
        assert!(m(t, bad).is_none(), "{bad}");
    }
    let tags = m("x://t{?tag*}", "x://t?tag=a&tag=b").unwrap();
    assert_eq!(tags.get("tag"), Some("a,b"));
    assert_eq!(tags.list("tag").unwrap(), ["a", "b"]);
    // `{&...}` right after `{?...}` is the same query.
    let t = UriTemplate::parse("x://{a}{?b}{&c}").unwrap();
    assert_eq!(t.var_names().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        vars("x://{a}{?b}{&c}", "x://p?c=3&b=2"),
        pairs(&[("a", "p"), ("b", "2"), ("c", "3")])
    );
    // A continuation after a fixed query.
    let t = "x://items?fixed=1{&page}";
    assert_eq!(vars(t, "x://items?fixed=1&page=2"), pairs(&[("page", "2")]));
    assert_eq!(vars(t, "x://items?fixed=1"), pairs(&[]));
}

#[test]
fn labels_parameters_fragments_and_prefixes() {
    let t = "x://{name}{.ext}";
    assert_eq!(
        vars(t, "x://file.tar.gz"),
        pairs(&[("ext", "tar.gz"), ("name", "file")])
    );
    assert_eq!(vars(t, "x://file"), pairs(&[("name", "file")]));
    assert_eq!(
        vars("x://m{;w,h}", "x://m;h=2;w=1"),
        pairs(&[("h", "2"), ("w", "1")])
    );
    assert_eq!(vars("x://m{;w,h}", "x://m;w"), pairs(&[("w", "")]));
    assert_eq!(
        vars("x://doc{#section}", "x://doc#intro/2"),
        pairs(&[("section", "intro/2")])
    );
    assert_eq!(vars("x://{code:3}", "x://abc"), pairs(&[("code", "abc")]));
    assert!(m("x://{code:3}", "x://abcd").is_none());
    assert_eq!(vars("x://{code:3}", "x://été"), pairs(&[("code", "été")]));
}

#[test]
fn values_are_raw_and_decoded_on_demand() {
    let v = m("file:///{+path}", "file:///my%20dir/%C3%A9.txt%zz").unwrap();
    assert_eq!(v.get("path"), Some("my%20dir/%C3%A9.txt%zz"));
    assert_eq!(v.decoded("path").as_deref(), Some("my dir/é.txt%zz"));
    assert_eq!(v.decoded("none"), None);
}

#[test]
fn long_uris_that_do_not_match_are_refused() {
    let t = UriTemplate::parse("x://{a}-{b}-{c}-{d}{/e}{/f}{/g}{?q}").unwrap();
    let uri = format!("x://{}", "-".repeat(100_000));
    assert!(t.matches(&uri).is_none());
    let uri = format!("x://a-b-c-d{}", "/e".repeat(50_000));
    assert!(t.matches(&uri).is_none());
    assert!(t.matches("x://a-b-c-d/e/f/g?q=1").is_some());
}
