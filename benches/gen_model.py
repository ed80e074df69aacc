#!/usr/bin/env python3
"""Deterministic synthetic storm models for benchmarks and scale tests.

    benches/gen_model.py --contexts 200 --aggregates 10 --out model.storm
    benches/gen_model.py --size L --dir --out model/      # one file per context

A model of N contexts x A aggregates per context. Every aggregate has a lifecycle,
a state, six commands and six events (so N x A x 6 events, plus one external event
per context); every context has actors, value types, enums, an external system,
policies (within the context, and reacting to the previous context's events), read
models (over its own and upstream events) and doc comments. The context map chains
the contexts (`C[i-1] -> C[i]`) with a few partnerships, so every cross-context use
is declared. The model checks clean: no errors, and the only warning is one hotspot
(in the first context) so that the warning path is exercised too.

Sizes: M = 50 x 10 (about 3,000 events), L = 200 x 10 (about 12,000 events,
3.5 MB, 40,000 lines). Output is byte-identical from run to run (no randomness,
no timestamps). Python 3 standard library only.
"""

import argparse
import os
import sys

SIZES = {"S": (5, 4), "M": (50, 10), "L": (200, 10), "XL": (800, 10)}

CONTEXT_WORDS_A = [
    "Order", "Stock", "Payment", "Billing", "Customer", "Shipping", "Catalog",
    "Pricing", "Loyalty", "Returns", "Fleet", "Claims", "Ledger", "Payroll",
    "Booking", "Support", "Identity", "Content", "Review", "Supplier",
]
CONTEXT_WORDS_B = [
    "Desk", "Hub", "Works", "Office", "Center", "Studio", "Service", "Network",
    "Station", "Bureau", "Exchange", "Registry", "Market", "Depot", "Gateway",
    "Channel", "Vault", "Board", "Forge", "Harbor",
]
AGGREGATES = [
    "Order", "Invoice", "Shipment", "Account", "Ticket", "Booking", "Contract",
    "Claim", "Request", "Asset", "Parcel", "Voucher", "Subscription", "Quote",
    "Refund", "Warrant", "Dossier", "Batch", "Lease", "Permit",
]


def snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def context_name(i):
    a = CONTEXT_WORDS_A[i % len(CONTEXT_WORDS_A)]
    b = CONTEXT_WORDS_B[(i // len(CONTEXT_WORDS_A)) % len(CONTEXT_WORDS_B)]
    lap = i // (len(CONTEXT_WORDS_A) * len(CONTEXT_WORDS_B))
    return f"{a}{b}" + (f"Lap{lap}" if lap else "")


def aggregate_name(j):
    base = AGGREGATES[j % len(AGGREGATES)]
    lap = j // len(AGGREGATES)
    return base + (f"Lot{lap}" if lap else "")


def aggregate(ctx, j, out):
    """Six commands, six events, a five-state lifecycle (all reachable)."""
    a = aggregate_name(j)
    s = snake(a)
    w = out.append
    w(f"  /// The {s.replace('_', ' ')} of {ctx}: aggregate {j + 1}, created by `Open{a}`.")
    w(f"  aggregate {a} {{")
    w(f"    id {s}_id: Uuid")
    w("    lifecycle { Open, Active, Suspended, Closed, Archived }")
    w("    /// What the aggregate keeps between commands; `address` is absent until someone says.")
    w("    state { owner_id: Uuid, lines: [LineItem], total: Money, priority: Priority, address: Address?, note: String?, tags: [String] }")
    w(f"    /// Open a new {s.replace('_', ' ')} for an owner.")
    w(f"    command Open{a} by Clerk {{ owner_id: Uuid, lines: [LineItem], priority: Priority, address: Address? }} emits {a}Opened")
    w(f"    command Activate{a} by Manager requires Open {{ total: Money, approved_by: String }} emits {a}Activated")
    w(f"    command Suspend{a} by Manager requires Active {{ reason: String, until: Date? }} emits {a}Suspended")
    w(f"    command Resume{a} requires Suspended {{ resumed_at: Timestamp }} emits {a}Resumed")
    w(f"    command Close{a} by Clerk requires Active, Suspended {{ closed_at: Timestamp, note: String? }} emits {a}Closed")
    w(f"    command Archive{a} requires Closed emits {a}Archived")
    w(f"    event {a}Opened enters Open {{ owner_id: Uuid, lines: [LineItem], priority: Priority, opened_at: Timestamp }}")
    w(f"    /// Version 2 added the approver.")
    w(f"    event {a}Activated version 2 enters Active {{ total: Money, approved_by: String, activated_at: Timestamp }}")
    w(f"    event {a}Suspended enters Suspended {{ reason: String, until: Date? }}")
    w(f"    event {a}Resumed enters Active {{ resumed_at: Timestamp }}")
    w(f"    event {a}Closed enters Closed {{ closed_at: Timestamp, total: Money, note: String? }}")
    w(f"    event {a}Archived enters Archived")
    w("  }")


def context(i, n_contexts, n_aggregates, hotspots):
    """The text of context `i`; it reacts to context `i - 1` (its upstream)."""
    name = context_name(i)
    up = context_name(i - 1) if i > 0 else None
    aggs = [aggregate_name(j) for j in range(n_aggregates)]
    out = []
    w = out.append
    w(f"/// Bounded context {i + 1} of {n_contexts}: {name}.")
    w(f"context {name} {{")
    w("  /// Does the day-to-day work at the desk.")
    w("  actor Clerk")
    w("  /// Approves, suspends and escalates.")
    w("  actor Manager")
    w("")
    w("  /// An amount of money in one currency.")
    w("  type Money { amount: Decimal, currency: Currency }")
    w("  /// One line of a document.")
    w("  type LineItem {")
    w("    sku: String, quantity: Int, unit_price: Money")
    w("    /// Free text printed under the line.")
    w("    remark: String?")
    w("  }")
    w("  type Address { street: String, city: String, postal_code: String, country: String }")
    w("  enum Currency { Eur, Usd, Gbp, Chf }")
    w("  enum Priority { Low, Normal, High, Urgent }")
    w("")
    w("  /// The partner system that feeds this context.")
    w(f"  external {name}Feed emits FeedEntryReceived")
    w("  /// An entry the partner system pushed.")
    w("  event FeedEntryReceived { entry_id: Uuid, owner_id: Uuid, received_at: Timestamp }")
    w("")
    for j in range(n_aggregates):
        aggregate(name, j, out)
    if hotspots and i == 0:
        w('  hotspot "Who may reopen an archived order, and for how long?"')
        w("")
    # Within the context: each aggregate's activation opens the next aggregate.
    first = aggs[0]
    w(f"  policy OpenFromFeed when FeedEntryReceived then Open{first}")
    for j in range(1, n_aggregates):
        prev, cur = aggs[j - 1], aggs[j]
        w(f"  policy Open{cur}After{prev} when {prev}Activated then Open{cur}")
    # Across contexts: react to the upstream's first and last aggregates.
    if up is not None:
        last = aggs[-1]
        w(f"  /// Reacts to `{up}`: its closed {snake(first).replace('_', ' ')}s start work here.")
        w(f"  policy OpenFrom{up} when {up}.{first}Closed, {up}.{last}Archived then Open{first}")
    # Read models: one over own events, one over upstream events.
    own = ", ".join(f"{a}Opened, {a}Closed" for a in aggs)
    w("  /// What is open and closed here, for the dashboard.")
    w(f"  readmodel {name}Overview from {own} {{")
    w("    owner_id: Uuid, open: Int, closed: Int, last_change: Timestamp, totals: [Money]")
    w("  }")
    if up is not None:
        ups = ", ".join(f"{up}.{a}Activated" for a in aggs[: max(1, n_aggregates // 2)])
        w(f"  readmodel UpstreamActivity from {ups} {{")
        w(f"    day: Date, activations: Int, sample: {up}.Money?, currency: {up}.Currency")
        w("  }")
    w("}")
    w("")
    return "\n".join(out) + "\n"


PATTERNS = [
    "customer-supplier",
    "conformist",
    "anticorruption-layer",
    "open-host-service, published-language",
]


def contextmap(n_contexts):
    out = ["/// How the contexts depend on each other: a chain, with a few partnerships.", "contextmap {"]
    for i in range(1, n_contexts):
        pattern = PATTERNS[i % len(PATTERNS)]
        out.append(f"  {context_name(i - 1)} -> {context_name(i)} : {pattern}")
    for i in range(0, n_contexts - 7, 25):
        out.append(f"  {context_name(i)} <-> {context_name(i + 7)} : partnership")
    out.append("}")
    return "\n".join(out) + "\n"


def header(n_contexts, n_aggregates):
    return (
        f"// Synthetic model: {n_contexts} contexts x {n_aggregates} aggregates, "
        "generated by benches/gen_model.py. Do not edit.\n\n"
    )


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), help="a preset: S, M, L or XL")
    p.add_argument("--contexts", type=int, help="number of contexts")
    p.add_argument("--aggregates", type=int, help="aggregates per context")
    p.add_argument("--out", required=True, help="output file, or directory with --dir")
    p.add_argument("--dir", action="store_true", help="write one file per context (and contextmap.storm) into --out")
    p.add_argument("--no-hotspot", action="store_true", help="leave out the single hotspot warning")
    args = p.parse_args(argv)
    n, a = SIZES.get(args.size, (None, None))
    n = args.contexts or n
    a = args.aggregates or a
    if not n or not a or n < 1 or a < 1:
        p.error("give --size, or --contexts and --aggregates (both at least 1)")
    hotspots = not args.no_hotspot
    if args.dir:
        os.makedirs(args.out, exist_ok=True)
        for name in os.listdir(args.out):
            if name.endswith(".storm"):
                os.remove(os.path.join(args.out, name))
        for i in range(n):
            text = header(n, a) + context(i, n, a, hotspots)
            write(os.path.join(args.out, f"{i:04d}-{snake(context_name(i)).replace('_', '-')}.storm"), text)
        write(os.path.join(args.out, "contextmap.storm"), header(n, a) + contextmap(n))
    else:
        parent = os.path.dirname(args.out)
        if parent:
            os.makedirs(parent, exist_ok=True)
        parts = [header(n, a)]
        parts.extend(context(i, n, a, hotspots) for i in range(n))
        parts.append(contextmap(n))
        write(args.out, "".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
