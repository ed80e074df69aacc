//! How model names become identifiers, paths and wire names.

/// Splits a name into words: at `_` and `-`, at a lower-to-upper change
/// (`orderId` → `order`, `Id`) and before the last capital of an acronym
/// (`HTTPServer` → `HTTP`, `Server`).
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = current.chars().last().as_ref() {
            let next = chars.get(i + 1).copied();
            let boundary = (c.is_uppercase() && (prev.is_lowercase() || prev.is_ascii_digit()))
                || (c.is_uppercase()
                    && prev.is_uppercase()
                    && next.is_some_and(|n| n.is_lowercase()));
            if boundary {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub fn snake(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

pub fn kebab(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("-")
}

pub fn pascal(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect()
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

/// Whether an event name reads as something that happened (`OrderPlaced`, `PaymentSent`).
pub fn is_past_tense(name: &str) -> bool {
    match words(name).last() {
        Some(last) => {
            let last = last.to_lowercase();
            last.ends_with("ed") || IRREGULAR_PAST.contains(&last.as_str())
        }
        None => false,
    }
}

/// Rust keywords: usable as raw identifiers (`r#type`), except these.
pub const RUST_NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
