//! `storm init`: a config and a small model to start from.

use std::path::Path;

/// The files of a new project in `dir`, by path relative to it.
pub fn files(dir: &Path) -> Vec<(&'static str, String)> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_default();
    let namespace = namespace_for(&name);
    vec![
        ("storm.yaml", CONFIG.replace("{namespace}", &namespace)),
        ("model/shop.storm", MODEL.to_string()),
    ]
}

/// The namespace when a name gives none: `___`, `!!!`.
pub const FALLBACK_NAMESPACE: &str = "storm.example";

/// A valid event-source namespace from a directory name: `My Shop!` → `my-shop`,
/// `Café Crème` → `cafe-creme` (letters outside ASCII by their ASCII spelling).
pub fn namespace_for(name: &str) -> String {
    let mut ns = String::new();
    for c in deunicode::deunicode(name).chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            ns.push(c.to_ascii_lowercase());
        } else if !ns.ends_with('-') {
            ns.push('-');
        }
    }
    let ns = ns.trim_matches(['-', '.']).replace("..", ".");
    if ns.is_empty() || crate::config::valid_namespace(&ns).is_err() {
        FALLBACK_NAMESPACE.to_string()
    } else {
        ns
    }
}

const CONFIG: &str = "\
# storm's configuration: see `storm --help` and cli.md.
version: 1
model: [model/]                 # files, directories or globs, relative to this file
namespace: {namespace}          # the prefix of every event's source
backend: eventbridge            # eventbridge | sns-sqs | kafka
out: generated                  # storm owns everything below this directory
targets:
  rust: { runtime: cqrs-es }
  schemas: true
  routing: true
  docs: true
lints:                          # per check: allow | warn | deny
  hotspot: warn
";

const MODEL: &str = "\
/// Where customers buy: orders and their lifecycle.
context Ordering {
  /// A person buying from the shop.
  actor Customer

  aggregate Order {
    id order_id: Uuid
    lifecycle { Placed, Shipped }
    state { sku: String, quantity: Int }

    /// Place an order for one product.
    command PlaceOrder by Customer { sku: String, quantity: Int } emits OrderPlaced
    command ShipOrder requires Placed emits OrderShipped

    event OrderPlaced enters Placed { sku: String, quantity: Int, placed_at: Timestamp }
    event OrderShipped enters Shipped
  }

  // When the warehouse has reserved the goods, the order ships.
  policy ShipReservedOrders when Inventory.StockReserved then ShipOrder
}

/// The warehouse: what is on the shelves.
context Inventory {
  aggregate Stock {
    id sku: String
    state { on_hand: Int }
    command ReserveStock { order_id: Uuid, quantity: Int } emits StockReserved
    event StockReserved { order_id: Uuid, quantity: Int }
  }

  policy ReserveStockForNewOrders when Ordering.OrderPlaced then ReserveStock

  readmodel StockLevels from StockReserved { sku: String, on_hand: Int }
}

contextmap {
  Ordering -> Inventory : customer-supplier
  Inventory -> Ordering : published-language
}
";
