//! The model as a graph (petgraph): a node for every element, an edge for every
//! arrow of the board. The graph checks walk it.

use crate::model::*;
use petgraph::graph::{DiGraph, NodeIndex};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    Context(ContextId),
    Actor(ActorId),
    External(ExternalId),
    Type(TypeId),
    Enum(EnumId),
    Aggregate(AggregateId),
    Command(CommandId),
    Event(EventId),
    Policy(PolicyId),
    ReadModel(ReadModelId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Command or external → event.
    Emits,
    /// Event → policy.
    Triggers,
    /// Policy → command, and actor → command (`by`).
    Issues,
    /// Event → read model.
    Feeds,
    /// Anything with fields → a value type or enum; `direct` when not behind a list
    /// or optional (only direct uses can make a value infinitely large).
    UsesType { direct: bool },
    /// Downstream context → upstream context: it may consume what that one publishes.
    DependsOn,
}

pub struct ModelGraph {
    pub graph: DiGraph<Node, Edge>,
    contexts: Vec<NodeIndex>,
    actors: Vec<NodeIndex>,
    externals: Vec<NodeIndex>,
    types: Vec<NodeIndex>,
    enums: Vec<NodeIndex>,
    aggregates: Vec<NodeIndex>,
    commands: Vec<NodeIndex>,
    events: Vec<NodeIndex>,
    policies: Vec<NodeIndex>,
    readmodels: Vec<NodeIndex>,
}

impl ModelGraph {
    pub fn build(model: &Model) -> ModelGraph {
        let mut graph = DiGraph::new();
        let mut add = |count: usize, node: &dyn Fn(u32) -> Node| -> Vec<NodeIndex> {
            (0..count as u32).map(|i| graph.add_node(node(i))).collect()
        };
        let contexts = add(model.contexts.len(), &|i| Node::Context(ContextId(i)));
        let actors = add(model.actors.len(), &|i| Node::Actor(ActorId(i)));
        let externals = add(model.externals.len(), &|i| Node::External(ExternalId(i)));
        let types = add(model.types.len(), &|i| Node::Type(TypeId(i)));
        let enums = add(model.enums.len(), &|i| Node::Enum(EnumId(i)));
        let aggregates = add(model.aggregates.len(), &|i| Node::Aggregate(AggregateId(i)));
        let commands = add(model.commands.len(), &|i| Node::Command(CommandId(i)));
        let events = add(model.events.len(), &|i| Node::Event(EventId(i)));
        let policies = add(model.policies.len(), &|i| Node::Policy(PolicyId(i)));
        let readmodels = add(model.readmodels.len(), &|i| Node::ReadModel(ReadModelId(i)));
        let mut g = ModelGraph {
            graph,
            contexts,
            actors,
            externals,
            types,
            enums,
            aggregates,
            commands,
            events,
            policies,
            readmodels,
        };
        g.connect(model);
        g
    }

    fn connect(&mut self, model: &Model) {
        for (i, command) in model.commands.iter().enumerate() {
            let node = self.commands[i];
            for e in &command.emits {
                self.graph
                    .add_edge(node, self.events[e.id.index()], Edge::Emits);
            }
            if let Some(actor) = command.by {
                self.graph
                    .add_edge(self.actors[actor.id.index()], node, Edge::Issues);
            }
            self.uses(node, &command.fields);
        }
        for (i, external) in model.externals.iter().enumerate() {
            for e in &external.emits {
                self.graph
                    .add_edge(self.externals[i], self.events[e.id.index()], Edge::Emits);
            }
        }
        for (i, policy) in model.policies.iter().enumerate() {
            let node = self.policies[i];
            for e in &policy.when {
                self.graph
                    .add_edge(self.events[e.id.index()], node, Edge::Triggers);
            }
            if let Some(c) = policy.then {
                self.graph
                    .add_edge(node, self.commands[c.id.index()], Edge::Issues);
            }
        }
        for (i, readmodel) in model.readmodels.iter().enumerate() {
            let node = self.readmodels[i];
            for e in &readmodel.from {
                self.graph
                    .add_edge(self.events[e.id.index()], node, Edge::Feeds);
            }
            self.uses(node, &readmodel.fields);
        }
        for (i, t) in model.types.iter().enumerate() {
            self.uses(self.types[i], &t.fields);
        }
        for (i, e) in model.events.iter().enumerate() {
            self.uses(self.events[i], &e.fields);
        }
        for (i, a) in model.aggregates.iter().enumerate() {
            self.uses(self.aggregates[i], std::slice::from_ref(&a.id));
            self.uses(self.aggregates[i], &a.state);
        }
        for relation in &model.relations {
            let up = self.contexts[relation.upstream.index()];
            let down = self.contexts[relation.downstream.index()];
            self.graph.add_edge(down, up, Edge::DependsOn);
            if relation.mutual {
                self.graph.add_edge(up, down, Edge::DependsOn);
            }
        }
    }

    fn uses(&mut self, node: NodeIndex, fields: &[Field]) {
        let mut refs = Vec::new();
        for field in fields {
            field.ty.refs(true, &mut refs);
        }
        for (r, direct) in refs {
            let target = match r {
                TypeRef::Type(t) => self.types[t.index()],
                TypeRef::Enum(e) => self.enums[e.index()],
            };
            self.graph.add_edge(node, target, Edge::UsesType { direct });
        }
    }

    pub fn context(&self, id: ContextId) -> NodeIndex {
        self.contexts[id.index()]
    }
    pub fn actor(&self, id: ActorId) -> NodeIndex {
        self.actors[id.index()]
    }
    pub fn type_node(&self, id: TypeId) -> NodeIndex {
        self.types[id.index()]
    }
    pub fn enum_node(&self, id: EnumId) -> NodeIndex {
        self.enums[id.index()]
    }
    pub fn event(&self, id: EventId) -> NodeIndex {
        self.events[id.index()]
    }
    pub fn node(&self, index: NodeIndex) -> Node {
        self.graph[index]
    }
}
