//! CloudFormation templates within AWS's limits: a template that is too large for
//! one stack (500 resources, 200 parameters, 200 outputs, 1 MB of body) becomes a
//! root template with nested stacks (`AWS::CloudFormation::Stack`), each a file
//! next to the root (`stacks/<name>.yaml`). `aws cloudformation package` uploads
//! those local files to S3 and rewrites their `TemplateURL`; `aws cloudformation
//! deploy` then deploys the packaged root.
//!
//! Pure: a template tree in, file trees out, deterministic. Resources are grouped
//! by the bounded context they serve: the `storm:context` tag, spread to untagged
//! resources through their references (a rule targets one context's inbox, a pipe
//! reads one context's table) until nothing changes. What serves several contexts
//! (the bus, shared roles) stays in the root. Resources nothing in the root refers
//! to and that refer only to the root (the registry's schemas) go into chunks of
//! at most [`CHUNK_RESOURCES`] when the root would still be too large; a context
//! too large for one stack is chunked too, in dependency order.
//!
//! References crossing stacks are rewritten: a child refers to anything outside
//! it through a `String` parameter its stack resource sets in the root (a `Ref` or
//! `Fn::GetAtt` of the root's resource, or `Fn::GetAtt [Stack, Outputs.Name]` of
//! the child that holds it, which then outputs it). Stacks that would depend on
//! each other in a circle (two contexts subscribing to each other's topic) are
//! broken up by keeping the resources they share in the root.
//!
//! This file uses only `serde_json`, `petgraph` and `std`, so it can be compiled
//! on its own.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// AWS's limits per template (CloudFormation quotas).
pub const AWS_MAX_RESOURCES: usize = 500;
pub const AWS_MAX_PARAMETERS: usize = 200;
pub const AWS_MAX_OUTPUTS: usize = 200;
/// The largest template body CloudFormation takes from S3, in bytes.
pub const AWS_MAX_BYTES: usize = 1_000_000;

/// What storm allows itself, with a margin below AWS's limits.
pub const MAX_RESOURCES: usize = 450;
pub const MAX_PARAMETERS: usize = 180;
pub const MAX_OUTPUTS: usize = 180;
/// Estimated YAML size (see [`estimate`]).
pub const MAX_BYTES: usize = 900_000;
/// Resources per chunk of a context or of the root's leaves.
pub const CHUNK_RESOURCES: usize = 400;
/// Estimated bytes per chunk: the rest of [`MAX_BYTES`] is for parameters and
/// outputs.
const CHUNK_BYTES: usize = 800_000;
/// Values a chunk may export to other stacks (one output each).
const CHUNK_EXPORTS: usize = 150;

/// The tag that names the context a resource belongs to.
pub const CONTEXT_TAG: &str = "storm:context";
const QUEUE: &str = "AWS::SQS::Queue";
/// The folder of the nested templates, relative to the root template.
pub const STACKS_DIR: &str = "stacks";
/// The root template's file name.
pub const ROOT_FILE: &str = "template.yaml";

/// Why a template cannot be split into stacks AWS accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitError(pub String);

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The template as files (relative to the root template's folder, `/`-separated),
/// the root `template.yaml` first, then the nested stacks sorted by name. A
/// template within the limits comes back unchanged as the only file.
pub fn split(template: Value) -> Result<Vec<(String, Value)>, SplitError> {
    if fits(&template) {
        return Ok(vec![(ROOT_FILE.to_string(), template)]);
    }
    let Value::Object(mut root) = template else {
        return Err(SplitError("a template is a mapping".into()));
    };
    for key in ["Conditions", "Transform"] {
        if root.contains_key(key) {
            return Err(SplitError(format!(
                "a template with `{key}` is too large for one stack and storm cannot split it"
            )));
        }
    }
    let Some(Value::Object(resources)) = root.remove("Resources") else {
        return Err(SplitError("the template has no `Resources` mapping".into()));
    };
    let parameters: BTreeSet<String> = match root.get("Parameters") {
        Some(Value::Object(p)) => p.keys().cloned().collect(),
        _ => BTreeSet::new(),
    };
    let graph = Graph::of(resources);
    let homes = plan(&graph)?;
    build(root, graph, homes, &parameters)
}

/// Within storm's margins.
pub fn fits(template: &Value) -> bool {
    let count = |key: &str| {
        template
            .get(key)
            .and_then(Value::as_object)
            .map_or(0, Map::len)
    };
    count("Resources") <= MAX_RESOURCES
        && count("Parameters") <= MAX_PARAMETERS
        && count("Outputs") <= MAX_OUTPUTS
        && estimate(template) <= MAX_BYTES
}

/// Within AWS's own limits, with the size estimated.
fn within_aws(template: &Value, size: usize) -> bool {
    let count = |key: &str| {
        template
            .get(key)
            .and_then(Value::as_object)
            .map_or(0, Map::len)
    };
    count("Resources") <= AWS_MAX_RESOURCES
        && count("Parameters") <= AWS_MAX_PARAMETERS
        && count("Outputs") <= AWS_MAX_OUTPUTS
        && size <= AWS_MAX_BYTES
}

/// An upper estimate of the tree's size as block YAML, without serialising it:
/// strings and keys with room for quotes and escapes, and indentation per level
/// (YAML is about 1.2 times compact JSON for storm's templates).
pub fn estimate(value: &Value) -> usize {
    scan(value, 0, &mut None)
}

/// The estimated size of a tree (see [`estimate`]), collecting its references on
/// the way when asked: one walk for both, as the walks dominate the time.
fn scan(value: &Value, depth: usize, refs: &mut Option<&mut Vec<Ref>>) -> usize {
    let indent = 2 * depth + 1;
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(s) => s.len() + s.len() / 4 + 2,
        Value::Array(items) => items
            .iter()
            .map(|v| indent + 2 + scan(v, depth + 1, refs))
            .sum::<usize>()
            .max(2),
        Value::Object(map) => {
            if map.len() == 1
                && let Some(out) = refs.as_deref_mut()
            {
                let (key, _) = map.iter().next().expect("one entry");
                if matches!(key.as_str(), "Ref" | "Fn::GetAtt" | "Fn::Sub") {
                    collect(value, out);
                    return scan(value, depth, &mut None);
                }
            }
            map.iter()
                .map(|(k, v)| indent + k.len() + 4 + scan(v, depth + 1, refs))
                .sum::<usize>()
                .max(2)
        }
    }
}

/// A reference: a resource (or parameter) and, for `Fn::GetAtt`, the attribute.
type Ref = (String, Option<String>);

/// The visitor of every reference in a tree; returning `Some` replaces it.
fn visit(value: &mut Value, f: &mut dyn FnMut(&str, Option<&str>) -> Option<Value>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter_mut().next().expect("one entry");
            match (key.as_str(), inner) {
                ("Ref", Value::String(target)) => {
                    if let Some(new) = f(target, None) {
                        *value = new;
                    }
                }
                ("Fn::GetAtt", Value::Array(parts)) => {
                    if let [Value::String(target), Value::String(attribute)] = parts.as_slice()
                        && let Some(new) = f(target, Some(attribute))
                    {
                        *value = new;
                    }
                }
                ("Fn::GetAtt", Value::String(dotted)) => {
                    if let Some((target, attribute)) = dotted.split_once('.')
                        && let Some(new) = f(target, Some(attribute))
                    {
                        *value = new;
                    }
                }
                ("Fn::Sub", Value::String(text)) => *text = sub(text, &BTreeSet::new(), f),
                ("Fn::Sub", Value::Array(parts)) => {
                    let local: BTreeSet<String> = match parts.get(1) {
                        Some(Value::Object(vars)) => vars.keys().cloned().collect(),
                        _ => BTreeSet::new(),
                    };
                    if let Some(Value::Array(_) | Value::Object(_)) = parts.get(1) {
                        visit(&mut parts[1], f);
                    }
                    if let Some(Value::String(text)) = parts.get_mut(0) {
                        *text = sub(text, &local, f);
                    }
                }
                (_, inner) => visit(inner, f),
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| visit(v, f)),
        Value::Array(items) => items.iter_mut().for_each(|v| visit(v, f)),
        _ => {}
    }
}

/// The `${Name}` and `${Name.Attribute}` of an `Fn::Sub` string, visited and
/// rewritten (a replacement is a `Ref` or `Fn::GetAtt` again); `${!Literal}`,
/// pseudo parameters and the `Fn::Sub`'s own variables are left alone.
fn sub(
    text: &str,
    local: &BTreeSet<String>,
    f: &mut dyn FnMut(&str, Option<&str>) -> Option<Value>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let replaced = if name.starts_with('!') || local.contains(name) {
            None
        } else {
            match name.split_once('.') {
                Some((target, attribute)) => f(target, Some(attribute)),
                None => f(name, None),
            }
        };
        match replaced.as_ref().and_then(placeholder) {
            Some(p) => out.push_str(&format!("${{{p}}}")),
            None => out.push_str(&format!("${{{name}}}")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What goes inside `${…}` for a `Ref` or `Fn::GetAtt`.
fn placeholder(value: &Value) -> Option<String> {
    if let Some(Value::String(target)) = value.get("Ref") {
        return Some(target.clone());
    }
    match value.get("Fn::GetAtt")?.as_array()?.as_slice() {
        [Value::String(t), Value::String(a)] => Some(format!("{t}.{a}")),
        _ => None,
    }
}

fn references(value: &Value) -> Vec<Ref> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<Ref>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().expect("one entry");
            match (key.as_str(), inner) {
                ("Ref", Value::String(target)) => out.push((target.clone(), None)),
                ("Fn::GetAtt", Value::Array(parts)) => {
                    if let [Value::String(t), Value::String(a)] = parts.as_slice() {
                        out.push((t.clone(), Some(a.clone())));
                    }
                }
                ("Fn::GetAtt", Value::String(dotted)) => {
                    if let Some((t, a)) = dotted.split_once('.') {
                        out.push((t.to_string(), Some(a.to_string())));
                    }
                }
                ("Fn::Sub", Value::String(_) | Value::Array(_)) => {
                    let mut wrapped = json!({ "Fn::Sub": inner.clone() });
                    visit(&mut wrapped, &mut |t, a| {
                        out.push((t.to_string(), a.map(str::to_string)));
                        None
                    });
                }
                (_, inner) => collect(inner, out),
            }
        }
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn depends_on(resource: &Value) -> Vec<String> {
    match resource.get("DependsOn") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn context_tag(resource: &Value) -> Option<String> {
    match resource.get("Properties")?.get("Tags")? {
        Value::Array(tags) => tags.iter().find_map(|t| {
            (t.get("Key")?.as_str()? == CONTEXT_TAG)
                .then(|| t.get("Value")?.as_str().map(str::to_string))
                .flatten()
        }),
        Value::Object(tags) => tags.get(CONTEXT_TAG)?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The resources with their references to each other, by index (sorted ids).
struct Graph {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    bodies: Vec<Value>,
    /// Resources each one refers to (references and `DependsOn`), sorted.
    out: Vec<Vec<usize>>,
    /// Resources referring to each one, sorted.
    into: Vec<Vec<usize>>,
    /// The references of each one, as written.
    refs: Vec<Vec<Ref>>,
    /// The estimated size of each one.
    sizes: Vec<usize>,
}

impl Graph {
    fn of(resources: Map<String, Value>) -> Graph {
        let (ids, bodies): (Vec<String>, Vec<Value>) = resources.into_iter().unzip();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let mut out = vec![Vec::new(); ids.len()];
        let mut into = vec![Vec::new(); ids.len()];
        let mut refs: Vec<Vec<Ref>> = Vec::with_capacity(bodies.len());
        let mut sizes: Vec<usize> = Vec::with_capacity(bodies.len());
        for body in &bodies {
            let mut found = Vec::new();
            sizes.push(scan(body, 0, &mut Some(&mut found)) + 64);
            refs.push(found);
        }
        for (i, body) in bodies.iter().enumerate() {
            let mut targets: Vec<usize> = refs[i]
                .iter()
                .map(|(t, _)| t.clone())
                .chain(depends_on(body))
                .filter_map(|t| index.get(&t).copied())
                .filter(|&t| t != i)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            for &t in &targets {
                into[t].push(i);
            }
            out[i] = targets;
        }
        Graph {
            ids,
            index,
            bodies,
            out,
            into,
            refs,
            sizes,
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Where a resource goes: the root, or the stack of that index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Home {
    Root,
    Stack(usize),
}

/// A nested stack: its logical id in the root, its file, its resources.
struct Stack {
    id: String,
    file: String,
    members: Vec<usize>,
}

struct Homes {
    of: Vec<Home>,
    stacks: Vec<Stack>,
}

/// Decides every resource's home.
fn plan(graph: &Graph) -> Result<Homes, SplitError> {
    let n = graph.len();
    // 1. Contexts: tags, then spread through references to a fixpoint.
    let mut context: Vec<Option<String>> = graph.bodies.iter().map(context_tag).collect();
    let mut pinned = vec![false; n];
    loop {
        spread(graph, &mut context, &pinned);
        // 2. Contexts that would depend on each other in a circle: keep what one
        // refers to in the other in the root.
        let cut = circles(graph, &context);
        if cut.is_empty() {
            break;
        }
        for i in cut {
            context[i] = None;
            pinned[i] = true;
        }
    }
    // 3. One stack per context, chunked in dependency order when too large.
    let mut by_context: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in context.iter().enumerate() {
        if let Some(c) = c {
            by_context.entry(c).or_default().push(i);
        }
    }
    let mut names = Names::default();
    for id in &graph.ids {
        names.ids.insert(id.clone());
    }
    let mut of = vec![Home::Root; n];
    let mut stacks: Vec<Stack> = Vec::new();
    for (name, members) in by_context {
        let ordered = topological(graph, &members);
        let chunks = chunks(graph, &ordered);
        let numbered = chunks.len() > 1;
        for (k, chunk) in chunks.into_iter().enumerate() {
            let suffix = if numbered {
                format!("{}", k + 1)
            } else {
                String::new()
            };
            push_stack(&mut stacks, &mut of, &mut names, name, &suffix, chunk);
        }
    }
    // 4. The root's leaves, chunked by type (the most numerous first), while the
    // root is still too large.
    let root: Vec<usize> = (0..n).filter(|&i| of[i] == Home::Root).collect();
    let mut root_count = root.len();
    let mut root_size: usize = root.iter().map(|&i| graph.sizes[i]).sum();
    let mut by_type: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &root {
        let leaf = graph.out[i].iter().all(|&t| of[t] == Home::Root)
            && graph.into[i].iter().all(|&r| of[r] != Home::Root);
        if leaf {
            let ty = graph.bodies[i]
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("Resource");
            by_type.entry(ty).or_default().push(i);
        }
    }
    let mut types: Vec<(&str, Vec<usize>)> = by_type.into_iter().collect();
    types.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (ty, members) in types {
        if root_count + stacks.len() <= MAX_RESOURCES && root_size <= CHUNK_BYTES {
            break;
        }
        root_count -= members.len();
        root_size -= members.iter().map(|&i| graph.sizes[i]).sum::<usize>();
        let name = ty.rsplit("::").next().unwrap_or(ty);
        for (k, chunk) in chunks(graph, &members).into_iter().enumerate() {
            push_stack(
                &mut stacks,
                &mut of,
                &mut names,
                name,
                &format!("{}", k + 1),
                chunk,
            );
        }
    }
    Ok(Homes { of, stacks })
}

/// Logical ids and file names taken so far.
#[derive(Default)]
struct Names {
    ids: BTreeSet<String>,
    files: BTreeSet<String>,
}

impl Names {
    fn take(set: &mut BTreeSet<String>, base: &str, join: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 2;
        while !set.insert(candidate.clone()) {
            candidate = format!("{base}{join}{n}");
            n += 1;
        }
        candidate
    }
}

fn push_stack(
    stacks: &mut Vec<Stack>,
    of: &mut [Home],
    names: &mut Names,
    name: &str,
    suffix: &str,
    members: Vec<usize>,
) {
    let pascal = pascal(name);
    let kebab = kebab(name);
    let id = Names::take(&mut names.ids, &format!("{pascal}Stack{suffix}"), "");
    let base = if suffix.is_empty() {
        kebab
    } else {
        format!("{kebab}-{suffix}")
    };
    let file = Names::take(&mut names.files, &base, "-");
    for &m in &members {
        of[m] = Home::Stack(stacks.len());
    }
    stacks.push(Stack {
        id,
        file: format!("{STACKS_DIR}/{file}.yaml"),
        members,
    });
}

/// Words of a name: runs of letters and digits, split before an upper-case
/// letter that follows a lower-case one.
fn words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        current.push(ch);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn kebab(name: &str) -> String {
    let words: Vec<String> = words(name).iter().map(|w| w.to_ascii_lowercase()).collect();
    if words.is_empty() {
        "stack".to_string()
    } else {
        words.join("-")
    }
}

fn pascal(name: &str) -> String {
    let out: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out
    } else {
        format!("S{out}")
    }
}

/// Gives untagged resources the context of the resources they are tied to,
/// round by round until nothing changes: the one context of the resources it
/// refers to (of the queues among them when those span several contexts: a
/// subscription or queue policy serves the inbox it delivers to), or else the one
/// context of the resources referring to it once all of those have one.
fn spread(graph: &Graph, context: &mut [Option<String>], pinned: &[bool]) {
    let is_queue = |t: usize| graph.bodies[t].get("Type").and_then(Value::as_str) == Some(QUEUE);
    loop {
        let mut changes: Vec<(usize, String)> = Vec::new();
        for i in 0..graph.len() {
            if context[i].is_some() || pinned[i] {
                continue;
            }
            let forward: BTreeSet<&String> = graph.out[i]
                .iter()
                .filter_map(|&t| context[t].as_ref())
                .collect();
            let queues: BTreeSet<&String> = graph.out[i]
                .iter()
                .filter(|&&t| is_queue(t))
                .filter_map(|&t| context[t].as_ref())
                .collect();
            if forward.len() == 1 || (forward.len() > 1 && queues.len() == 1) {
                let chosen = if forward.len() == 1 { forward } else { queues };
                changes.push((i, chosen.into_iter().next().expect("one").clone()));
                continue;
            }
            if !forward.is_empty() || graph.into[i].is_empty() {
                continue;
            }
            let back: Option<BTreeSet<&String>> =
                graph.into[i].iter().map(|&r| context[r].as_ref()).collect();
            if let Some(back) = back
                && back.len() == 1
            {
                changes.push((i, back.into_iter().next().expect("one").clone()));
            }
        }
        if changes.is_empty() {
            return;
        }
        for (i, c) in changes {
            context[i] = Some(c);
        }
    }
}

/// Resources to keep in the root so that no two contexts depend on each other:
/// in the graph of contexts and root resources, the targets of every reference
/// inside a circle that reaches into a context.
fn circles(graph: &Graph, context: &[Option<String>]) -> Vec<usize> {
    let mut g: DiGraph<(), ()> = DiGraph::new();
    let mut nodes: BTreeMap<&str, NodeIndex> = BTreeMap::new();
    let node_of: Vec<NodeIndex> = (0..graph.len())
        .map(|i| match &context[i] {
            Some(c) => *nodes.entry(c).or_insert_with(|| g.add_node(())),
            None => g.add_node(()),
        })
        .collect();
    for i in 0..graph.len() {
        for &t in &graph.out[i] {
            if node_of[i] != node_of[t] {
                g.update_edge(node_of[i], node_of[t], ());
            }
        }
    }
    let mut component = vec![usize::MAX; g.node_count()];
    for (k, scc) in tarjan_scc(&g).into_iter().enumerate() {
        if scc.len() > 1 {
            for node in scc {
                component[node.index()] = k;
            }
        }
    }
    let mut cut = BTreeSet::new();
    for i in 0..graph.len() {
        for &t in &graph.out[i] {
            let (a, b) = (node_of[i].index(), node_of[t].index());
            if a != b && component[a] != usize::MAX && component[a] == component[b] {
                if context[t].is_some() {
                    cut.insert(t);
                } else if context[i].is_some() {
                    // A root resource in the circle that a context refers to:
                    // what it refers to in a context comes back to the root.
                    for &u in &graph.out[t] {
                        if context[u].is_some() {
                            cut.insert(u);
                        }
                    }
                }
            }
        }
    }
    cut.into_iter().collect()
}

/// The members in an order where every resource comes after those it refers to
/// (ties by logical id); references within one template never form a circle.
fn topological(graph: &Graph, members: &[usize]) -> Vec<usize> {
    let inside: BTreeSet<usize> = members.iter().copied().collect();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut order = Vec::with_capacity(members.len());
    for &start in members {
        // Iterative depth-first post-order.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if !done.insert(start) {
            continue;
        }
        while let Some((node, next)) = stack.pop() {
            let targets = &graph.out[node];
            if let Some(&t) = targets[next..].first() {
                stack.push((node, next + 1));
                if inside.contains(&t) && done.insert(t) {
                    stack.push((t, 0));
                }
            } else {
                order.push(node);
            }
        }
    }
    order
}

/// Consecutive runs of the ordered resources within a chunk's limits. A resource
/// counts as exported (an output of its chunk) when something outside the run
/// refers to it: outside the list, or too far down it to share the chunk.
fn chunks(graph: &Graph, ordered: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = ordered.iter().map(|&i| graph.sizes[i]).sum();
    if ordered.len() <= CHUNK_RESOURCES && total <= CHUNK_BYTES {
        return vec![ordered.to_vec()];
    }
    let position: HashMap<usize, usize> =
        ordered.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut start = 0;
    let mut size = 0;
    let mut exports = 0;
    for (p, &i) in ordered.iter().enumerate() {
        if !current.is_empty()
            && (current.len() + 1 > CHUNK_RESOURCES
                || size + graph.sizes[i] > CHUNK_BYTES
                || exports + 1 > CHUNK_EXPORTS)
        {
            out.push(std::mem::take(&mut current));
            start = p;
            size = 0;
            exports = 0;
        }
        let exported = graph.into[i].iter().any(|r| {
            position
                .get(r)
                .is_none_or(|&q| q >= start + CHUNK_RESOURCES)
        });
        size += graph.sizes[i];
        exports += usize::from(exported);
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The name of the output or parameter that carries a reference.
fn carrier(target: &str, attribute: Option<&str>) -> String {
    let attribute: String = attribute
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("{target}{attribute}")
}

/// Writes the templates.
fn build(
    mut root: Map<String, Value>,
    graph: Graph,
    homes: Homes,
    parameters: &BTreeSet<String>,
) -> Result<Vec<(String, Value)>, SplitError> {
    let Homes { of, stacks } = homes;
    let Graph {
        ids,
        index,
        bodies,
        refs,
        sizes,
        ..
    } = graph;
    let home = |target: &str| index.get(target).map(|&i| of[i]);
    // What each stack needs from outside (parameters) and gives (outputs).
    let mut needs: Vec<BTreeSet<Ref>> = vec![BTreeSet::new(); stacks.len()];
    let mut gives: Vec<BTreeSet<Ref>> = vec![BTreeSet::new(); stacks.len()];
    let mut note = |from: Home, refs: Vec<Ref>| {
        for (target, attribute) in refs {
            let to = match home(&target) {
                Some(h) => Some(h),
                None if parameters.contains(&target) => Some(Home::Root),
                None => None,
            };
            let Some(to) = to else { continue };
            if to == from {
                continue;
            }
            if let Home::Stack(s) = to {
                gives[s].insert((target.clone(), attribute.clone()));
            }
            if let Home::Stack(s) = from {
                needs[s].insert((target, attribute));
            }
        }
    };
    for (i, refs) in refs.into_iter().enumerate() {
        note(of[i], refs);
    }
    let outputs = match root.remove("Outputs") {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    // Outputs stay on the root, unless there are too many for it: then those about
    // one stack's resources are that stack's outputs (`aws cloudformation
    // describe-stacks` of the nested stack lists them).
    let overflow = outputs.len() > MAX_OUTPUTS;
    let mut root_outputs: Map<String, Value> = Map::new();
    let mut stack_outputs: Vec<Map<String, Value>> = vec![Map::new(); stacks.len()];
    for (name, output) in outputs {
        let refs = references(&output);
        let homes: BTreeSet<Home> = refs.iter().filter_map(|(t, _)| home(t)).collect();
        match homes.iter().next() {
            Some(&Home::Stack(s)) if homes.len() == 1 && overflow => {
                stack_outputs[s].insert(name, output);
            }
            _ => {
                note(Home::Root, refs);
                root_outputs.insert(name, output);
            }
        }
    }
    // Names of the outputs that carry what other stacks need.
    let mut given_names: Vec<BTreeMap<Ref, String>> = vec![BTreeMap::new(); stacks.len()];
    for (s, gives) in gives.iter().enumerate() {
        let mut taken: BTreeSet<String> = stack_outputs[s].keys().cloned().collect();
        for r in gives {
            let base = carrier(&r.0, r.1.as_deref());
            let name = Names::take(&mut taken, &base, "");
            given_names[s].insert(r.clone(), name);
        }
    }
    // How the root refers to what a stack holds.
    let from_root = |target: &str, attribute: Option<&str>| -> Option<Value> {
        match home(target)? {
            Home::Root => None,
            Home::Stack(s) => {
                let name = &given_names[s][&(target.to_string(), attribute.map(str::to_string))];
                Some(json!({ "Fn::GetAtt": [stacks[s].id, format!("Outputs.{name}")] }))
            }
        }
    };
    let original = |target: &str, attribute: Option<&str>| match attribute {
        Some(a) => json!({ "Fn::GetAtt": [target, a] }),
        None => json!({ "Ref": target }),
    };
    // Parameter names per stack.
    let mut need_names: Vec<BTreeMap<Ref, String>> = vec![BTreeMap::new(); stacks.len()];
    for (s, needs) in needs.iter().enumerate() {
        let mut taken: BTreeSet<String> =
            stacks[s].members.iter().map(|&m| ids[m].clone()).collect();
        for r in needs {
            let base = carrier(&r.0, r.1.as_deref());
            need_names[s].insert(r.clone(), Names::take(&mut taken, &base, ""));
        }
    }
    let description = root
        .get("Description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut bodies: Vec<Option<Value>> = bodies.into_iter().map(Some).collect();
    let mut files: Vec<(String, Value)> = Vec::new();
    let mut stack_depends: Vec<BTreeSet<String>> = vec![BTreeSet::new(); stacks.len()];
    let stack_of = |h: Home| match h {
        Home::Root => None,
        Home::Stack(s) => Some(s),
    };
    for (s, stack) in stacks.iter().enumerate() {
        let mut resources = Map::new();
        for &m in &stack.members {
            let mut body = bodies[m].take().expect("each resource once");
            visit(&mut body, &mut |t, a| {
                let key = (t.to_string(), a.map(str::to_string));
                need_names[s].get(&key).map(|p| json!({ "Ref": p }))
            });
            rewrite_depends(&mut body, |t| match home(t) {
                Some(Home::Stack(x)) if x == s => Some(t.to_string()),
                Some(Home::Root) => {
                    stack_depends[s].insert(t.to_string());
                    None
                }
                Some(Home::Stack(x)) => {
                    stack_depends[s].insert(stacks[x].id.clone());
                    None
                }
                None => Some(t.to_string()),
            });
            resources.insert(ids[m].clone(), body);
        }
        let mut template = Map::new();
        template.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        let mut text = format!("Nested stack `{}` of: {description}", stack.file);
        if text.len() > 1024 {
            let mut end = 1021;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str("...");
        }
        template.insert("Description".into(), json!(text));
        if !need_names[s].is_empty() {
            let params: Map<String, Value> = need_names[s]
                .values()
                .map(|p| (p.clone(), json!({ "Type": "String" })))
                .collect();
            template.insert("Parameters".into(), Value::Object(params));
        }
        template.insert("Resources".into(), Value::Object(resources));
        let mut outs = std::mem::take(&mut stack_outputs[s]);
        for ((t, a), name) in &given_names[s] {
            outs.insert(name.clone(), json!({ "Value": original(t, a.as_deref()) }));
        }
        if !outs.is_empty() {
            template.insert("Outputs".into(), Value::Object(outs));
        }
        files.push((stack.file.clone(), Value::Object(template)));
    }
    // The root: its own resources, rewritten, and one stack resource per file.
    let mut resources = Map::new();
    for (i, slot) in bodies.iter_mut().enumerate() {
        let Some(mut body) = slot.take() else {
            continue;
        };
        visit(&mut body, &mut |t, a| from_root(t, a));
        let mut implied: BTreeSet<String> = BTreeSet::new();
        for (t, _) in references(&body) {
            implied.insert(t);
        }
        rewrite_depends(&mut body, |t| match home(t).and_then(stack_of) {
            Some(x) => {
                let id = stacks[x].id.clone();
                (!implied.contains(&id)).then_some(id)
            }
            None => Some(t.to_string()),
        });
        resources.insert(ids[i].clone(), body);
    }
    for (s, stack) in stacks.iter().enumerate() {
        let mut params = Map::new();
        let mut implied: BTreeSet<String> = BTreeSet::new();
        for ((t, a), p) in &need_names[s] {
            let value = from_root(t, a.as_deref()).unwrap_or_else(|| original(t, a.as_deref()));
            for (r, _) in references(&value) {
                implied.insert(r);
            }
            params.insert(p.clone(), value);
        }
        let mut body = json!({
            "Type": "AWS::CloudFormation::Stack",
            "Metadata": {
                "cfn-lint": { "config": { "ignore_checks": ["W3002"] } },
                "storm": format!("{STACKS_DIR}/ is a local path: deploy with `aws cloudformation package`, which uploads it to S3 and sets this URL"),
            },
            "Properties": { "TemplateURL": stack.file },
        });
        if !params.is_empty() {
            body["Properties"]["Parameters"] = Value::Object(params);
        }
        let depends: Vec<&String> = stack_depends[s]
            .iter()
            .filter(|d| !implied.contains(*d) && **d != stack.id)
            .collect();
        if !depends.is_empty() {
            body["DependsOn"] = json!(depends);
        }
        resources.insert(stack.id.clone(), body);
    }
    let mut outputs = root_outputs;
    for output in outputs.values_mut() {
        visit(output, &mut |t, a| from_root(t, a));
    }
    let mut template = Map::new();
    for (key, value) in root {
        template.insert(key, value);
    }
    template.insert("Resources".into(), Value::Object(resources));
    if !outputs.is_empty() {
        template.insert("Outputs".into(), Value::Object(outputs));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.insert(0, (ROOT_FILE.to_string(), Value::Object(template)));
    for (file, template) in &files {
        // The resources' sizes are known; the rest is estimated here.
        let resources: usize = match template.get("Resources") {
            Some(Value::Object(r)) => r
                .iter()
                .map(|(id, body)| match index.get(id) {
                    Some(&i) => sizes[i],
                    None => estimate(body) + 64,
                })
                .sum(),
            _ => 0,
        };
        let rest: usize = template
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.as_str() != "Resources")
            .map(|(key, value)| key.len() + 4 + estimate(value))
            .sum();
        if !within_aws(template, resources + rest) {
            return Err(SplitError(format!(
                "`{file}` is still beyond AWS's limits after splitting ({} resources, {} parameters, {} outputs, about {} bytes)",
                count(template, "Resources"),
                count(template, "Parameters"),
                count(template, "Outputs"),
                resources + rest
            )));
        }
    }
    Ok(files)
}

fn count(template: &Value, key: &str) -> usize {
    template
        .get(key)
        .and_then(Value::as_object)
        .map_or(0, Map::len)
}

/// `DependsOn` with each entry mapped (`None` drops it), removed when empty.
fn rewrite_depends(body: &mut Value, mut f: impl FnMut(&str) -> Option<String>) {
    let list = depends_on(body);
    if list.is_empty() {
        return;
    }
    let mut kept: Vec<String> = Vec::new();
    for d in list {
        if let Some(d) = f(&d)
            && !kept.contains(&d)
        {
            kept.push(d);
        }
    }
    let Some(map) = body.as_object_mut() else {
        return;
    };
    if kept.is_empty() {
        map.remove("DependsOn");
    } else {
        map.insert("DependsOn".into(), json!(kept));
    }
}
