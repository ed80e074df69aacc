//! How model names become identifiers, paths and wire names.

/// Splits a name into words: at `_` and `-`, at a lower-to-upper change
/// (`orderId` → `order`, `Id`) and before the last capital of an acronym
/// (`HTTPServer` → `HTTP`, `Server`).
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    split(name, |w| words.push(w.to_string()));
    words
}

/// [`words`] without allocating: each word, a slice of `name`, handed to `word`.
fn split<'a>(name: &'a str, mut word: impl FnMut(&'a str)) {
    let mut start: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut chars = name.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if let Some(s) = start.take() {
                word(&name[s..i]);
            }
            prev = None;
            continue;
        }
        match (start, prev) {
            (Some(s), Some(p)) => {
                let next = chars.peek().map(|&(_, n)| n);
                let boundary = c.is_uppercase()
                    && (p.is_lowercase()
                        || p.is_ascii_digit()
                        || p.is_uppercase() && next.is_some_and(char::is_lowercase));
                if boundary {
                    word(&name[s..i]);
                    start = Some(i);
                }
            }
            _ => start = Some(i),
        }
        prev = Some(c);
    }
    if let Some(s) = start {
        word(&name[s..]);
    }
}

/// The words of `name` in lower case, joined by `separator`.
fn lower_joined(name: &str, separator: char) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    split(name, |w| {
        if !out.is_empty() {
            out.push(separator);
        }
        if w.is_ascii() {
            let start = out.len();
            out.push_str(w);
            out[start..].make_ascii_lowercase();
        } else {
            out.push_str(&w.to_lowercase());
        }
    });
    out
}

pub fn snake(name: &str) -> String {
    lower_joined(name, '_')
}

pub fn kebab(name: &str) -> String {
    lower_joined(name, '-')
}

pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    split(name, |w| {
        if w.is_ascii() {
            // Most names: no case tables, and the word is copied at once.
            let start = out.len();
            out.push_str(w);
            let word = &mut out[start..];
            word.make_ascii_lowercase();
            if let Some(first) = word.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            return;
        }
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.extend(chars.flat_map(char::to_lowercase));
        }
    });
    out
}

pub fn is_pascal(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !name.contains('_')
}

pub fn is_snake(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// Past participles that do not end in `-ed`, for the `naming` check of events.
const IRREGULAR_PAST: &[&str] = &[
    "arisen",
    "awoken",
    "been",
    "begun",
    "bid",
    "bitten",
    "bled",
    "blown",
    "borne",
    "born",
    "bought",
    "bound",
    "broadcast",
    "broken",
    "brought",
    "built",
    "burnt",
    "caught",
    "chosen",
    "come",
    "cost",
    "cut",
    "dealt",
    "done",
    "drawn",
    "driven",
    "dug",
    "eaten",
    "fallen",
    "fed",
    "felt",
    "fled",
    "flown",
    "forbidden",
    "forecast",
    "forgiven",
    "forgotten",
    "fought",
    "found",
    "frozen",
    "given",
    "gone",
    "got",
    "gotten",
    "grown",
    "heard",
    "held",
    "hidden",
    "hit",
    "hung",
    "hurt",
    "kept",
    "known",
    "laid",
    "led",
    "left",
    "lent",
    "let",
    "lit",
    "lost",
    "made",
    "meant",
    "met",
    "mislaid",
    "overridden",
    "paid",
    "put",
    "quit",
    "read",
    "rebuilt",
    "redone",
    "reset",
    "resent",
    "ridden",
    "risen",
    "run",
    "said",
    "seen",
    "sent",
    "set",
    "shaken",
    "shed",
    "shot",
    "shown",
    "shut",
    "slid",
    "sold",
    "sought",
    "spent",
    "split",
    "spoken",
    "spread",
    "spun",
    "stolen",
    "struck",
    "stuck",
    "sung",
    "sworn",
    "swung",
    "taken",
    "taught",
    "thought",
    "thrown",
    "told",
    "went",
    "cast",
    "sped",
    "bred",
    "torn",
    "undone",
    "understood",
    "upheld",
    "upset",
    "withdrawn",
    "withheld",
    "won",
    "worn",
    "written",
    "woken",
];

/// Words ending in `-ed` that are not past participles.
const NOT_PAST: &[&str] = &[
    "bed", "red", "shed", "sled", "wed", "embed", "hundred", "kindred", "sacred", "naked",
    "wicked", "wretched", "rugged", "ragged", "shred", "bred", "sped", "led", "fed",
];

/// Past participles ending in `-eed` (most `-eed` words are not: `Need`, `Feed`, `Speed`).
const PAST_EED: &[&str] = &[
    "agreed",
    "disagreed",
    "freed",
    "guaranteed",
    "decreed",
    "refereed",
];

/// Particles of phrasal verbs: `UserLoggedIn`, `ServerShutDown`, `LightSwitchedOn`.
const PARTICLES: &[&str] = &[
    "in", "out", "on", "off", "up", "down", "back", "over", "away", "through",
];

/// Whether an event name reads as something that happened (`OrderPlaced`,
/// `PaymentSent`, `UserLoggedIn`, `OrderPlacedV2`).
pub fn is_past_tense(name: &str) -> bool {
    let mut words: Vec<String> = words(name).iter().map(|w| w.to_lowercase()).collect();
    // A version or counter at the end (`V2`, `2`) says nothing about tense.
    while let Some(last) = words.last() {
        let digits = last.trim_start_matches('v');
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            words.pop();
        } else if let Some(stripped) = last.strip_suffix(|c: char| c.is_ascii_digit()) {
            let stripped = stripped
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            words.pop();
            words.push(stripped);
        } else {
            break;
        }
    }
    if words.len() >= 2
        && words
            .last()
            .is_some_and(|w| PARTICLES.contains(&w.as_str()))
    {
        words.pop();
    }
    match words.last() {
        Some(last) => past_participle(last),
        None => false,
    }
}

fn past_participle(word: &str) -> bool {
    if IRREGULAR_PAST.contains(&word) {
        return true;
    }
    if word.ends_with("eed") {
        return PAST_EED.contains(&word);
    }
    word.ends_with("ed") && !NOT_PAST.contains(&word)
}

/// Rust keywords: usable as raw identifiers (`r#type`), except these.
pub const RUST_NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// A long name as its first and last few characters, enough to recognise it.
pub fn abbreviated(name: &str) -> String {
    const KEPT: usize = 48;
    let count = name.chars().count();
    if count <= 2 * KEPT + 1 {
        return name.to_owned();
    }
    let head: String = name.chars().take(KEPT).collect();
    let tail: String = name.chars().skip(count - KEPT).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII shortcuts give what the Unicode case rules give.
    #[test]
    fn ascii_words_convert_as_unicode_ones() {
        let words = |name: &str, f: &dyn Fn(&str) -> String| {
            let mut out = Vec::new();
            split(name, |w| out.push(f(w)));
            out
        };
        let capitalised = |w: &str| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            first.unwrap_or_default() + &chars.flat_map(char::to_lowercase).collect::<String>()
        };
        for name in [
            "OrderID",
            "order_id",
            "HTTPServer",
            "x",
            "a1B2c3",
            "ALLCAPS",
            "kebab-name",
            "dotted.name",
            "Mixed Case",
            "_lead",
            "trail_",
            "9lives",
            "a__b",
            "ÉtéOrder",
        ] {
            assert_eq!(pascal(name), words(name, &capitalised).concat(), "{name}");
            assert_eq!(
                snake(name),
                words(name, &str::to_lowercase).join("_"),
                "{name}"
            );
        }
    }

    #[test]
    fn cases() {
        assert_eq!(snake("OrderID"), "order_id");
        assert_eq!(snake("orderId"), "order_id");
        assert_eq!(pascal("OrderID"), "OrderId");
        assert_eq!(kebab("CustomerSupport"), "customer-support");
        assert_eq!(kebab("HTTPServer"), "http-server");
        assert_eq!(snake("line2Total"), "line2_total");
        assert!(is_past_tense("OrderPlaced"));
        assert!(is_past_tense("PaymentSent"));
        assert!(!is_past_tense("PlaceOrder"));
        for past in [
            "UserLoggedIn",
            "ServerShutDown",
            "LightSwitchedOn",
            "UserSetUp",
            "VoteCast",
            "OrderPlacedV2",
            "OrderPlaced2",
            "PaymentAgreed",
            "Went",
        ] {
            assert!(is_past_tense(past), "{past}");
        }
        for not_past in [
            "OrderFeed",
            "ItemNeed",
            "DataSeed",
            "DeviceEmbed",
            "PriceSpeed",
            "OrderHundred",
            "StockBed",
            "TaskRed",
            "LogIn",
        ] {
            assert!(!is_past_tense(not_past), "{not_past}");
        }
    }
}
