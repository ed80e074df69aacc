#!/usr/bin/env python3
"""Pathological inputs of at most 64 KiB, for the issue-6 promise that every such
input checks in well under a second:

    benches/pathological.py OUT_DIR      # writes OUT_DIR/<case>.storm

benches/run.sh times `storm check` on each and prints the slowest, then
`storm generate` of those that check without errors. Each case aims
at one way a parser or checker goes quadratic: backtracking over long runs
(doc comments, brackets, braces), many tiny elements, long lists, many
diagnostics (each rendered with its source line), dense policy graphs.
Python 3 standard library only; deterministic.
"""

import os
import sys

LIMIT = 64 * 1024


def fill(head, unit, tail="", limit=LIMIT):
    """head + as many units as fit + tail, at most `limit` bytes."""
    room = limit - len(head) - len(tail)
    n = max(0, room // len(unit))
    return head + unit * n + tail


def numbered(head, make, tail="", limit=LIMIT):
    """head + make(0) + make(1) + ... while it fits, + tail."""
    parts, size, i = [head], len(head) + len(tail), 0
    while True:
        piece = make(i)
        if size + len(piece) > limit:
            break
        parts.append(piece)
        size += len(piece)
        i += 1
    parts.append(tail)
    return "".join(parts)


def dense_policies(k):
    events = ", ".join(f"Thing{i}Happened" for i in range(k))
    lines = ["context Dense {", "  aggregate Thing {"]
    lines += [f"    command DoThing{i} emits Thing{i}Happened" for i in range(k)]
    lines += [f"    event Thing{i}Happened" for i in range(k)]
    lines.append("  }")
    lines += [f"  policy React{i} when {events} then DoThing{i}" for i in range(k)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def dense_types(k):
    lines = ["context Types {"]
    for i in range(k):
        fields = ", ".join(f"f{j}: T{j}" for j in range(k))
        lines.append(f"  type T{i} {{ {fields} }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def unknown_references():
    events = [f"event Known{i}Happened" for i in range(1500)]
    head = "context Refs {\n  aggregate A {\n    " + "\n    ".join(events) + "\n  }\n  readmodel R from "
    return numbered(head, lambda i: f"Knwn{i}Happend, ", "X {}\n}\n")


def states_and_free_commands(limit=LIMIT):
    """Many states, each entered by a command without `requires` (accepted in
    every state): the lifecycle diagram in the docs must not grow with their
    product. The largest such model within the limit."""
    def make(k):
        lines = ["context Flow {", "  aggregate Item {"]
        lines.append("    lifecycle { " + ", ".join(f"S{i}" for i in range(k)) + " }")
        lines += [f"    command Go{i} emits Went{i}" for i in range(k)]
        lines += [f"    event Went{i} enters S{i}" for i in range(k)]
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"
    k = 1
    while len(make(k + 1).encode()) <= limit:
        k += 1
    return make(k)


CASES = {
    "doc-lines-top": lambda: fill("", "///\n"),
    "doc-lines-in-context": lambda: fill("context A {\n", "///\n", "}\n"),
    "doc-lines-in-aggregate": lambda: fill("context A {\n aggregate B {\n", "///\n", "}}\n"),
    "doc-lines-then-garbage": lambda: fill("", "/// text\n", "?\n"),
    "brackets-62-deep-fields": lambda: numbered(
        "context A {\n type T {\n", lambda i: f"  f{i}: " + "[" * 62 + "String" + "]" * 62 + "\n", " }\n}\n"
    ),
    "brackets-62-unclosed-fields": lambda: numbered(
        "context A {\n type T {\n", lambda i: f"  f{i}: " + "[" * 62 + "String\n", " }\n}\n"
    ),
    "braces-60-unclosed-repeated": lambda: numbered(
        "context A {\n", lambda i: " x" + "{" * 60 + "\n" + "}" * 0, "}\n"
    ),
    "braces-60-balanced-garbage": lambda: numbered(
        "context A {\n", lambda i: " x" + "{" * 30 + "y" + "}" * 30 + "\n", "}\n"
    ),
    "many-tiny-contexts": lambda: numbered("", lambda i: f"context C{i} {{}}\n"),
    "many-tiny-contexts-mapped": lambda: numbered(
        "contextmap {\n" + "".join(f" C{i} -> C{i + 1}\n" for i in range(600)) + "}\n",
        lambda i: f"context C{i} {{ event E{i}Happened }}\n",
    ),
    "many-duplicate-actors": lambda: fill("context A {\n", " actor Clerk\n", "}\n"),
    "many-unknown-states": lambda: numbered(
        "context A {\n aggregate B {\n  lifecycle { Open }\n",
        lambda i: f"  event E{i}Happened enters Nope{i}\n",
        " }\n}\n",
    ),
    "long-event-list": lambda: numbered(
        "context A {\n aggregate B {\n  command C emits ", lambda i: f"E{i}Happened, ", "\n }\n}\n"
    ),
    "unknown-references-with-suggestions": unknown_references,
    "dense-policy-graph": lambda: dense_policies(50),
    "dense-type-graph": lambda: dense_types(75),
    "states-and-free-commands": states_and_free_commands,
    "unclosed-string": lambda: fill('context A {\n hotspot "', "x", "\n}\n"),
    "many-syntax-errors": lambda: fill("", "context A { aggregate ?\n"),
    "identifier-clashes": lambda: numbered(
        "context A {\n", lambda i: f" actor Clerk{i}Id\n actor Clerk{i}ID\n", "}\n"
    ),
}


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    for name, make in CASES.items():
        text = make()
        data = text.encode()
        assert len(data) <= LIMIT, (name, len(data))
        with open(os.path.join(out, f"{name}.storm"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
