//! A JSON-like tree whose objects keep the order their members were added in, so
//! that a schema reads `$schema`, `title`, `type`, `properties`, ... and not
//! alphabetically. Serialised with serde_json (schema files) or serde_yaml
//! (AsyncAPI documents); the crate's serde_json sorts its maps, this does not.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Bool(bool),
    Str(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn map() -> Node {
        Node::Map(Vec::new())
    }

    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    /// Adds a member (builder style); replaces an existing member of that name in place.
    pub fn with(mut self, key: &str, value: Node) -> Node {
        self.set(key, value);
        self
    }

    /// Adds a member when there is a value.
    pub fn with_opt(self, key: &str, value: Option<Node>) -> Node {
        match value {
            Some(value) => self.with(key, value),
            None => self,
        }
    }

    pub fn set(&mut self, key: &str, value: Node) {
        if let Node::Map(members) = self {
            match members.iter_mut().find(|(k, _)| k == key) {
                Some(member) => member.1 = value,
                None => members.push((key.to_string(), value)),
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `{"$ref": target}`.
    pub fn reference(target: impl Into<String>) -> Node {
        Node::map().with("$ref", Node::Str(target.into()))
    }

    pub fn strings<I, S>(items: I) -> Node
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Node::List(items.into_iter().map(|s| Node::Str(s.into())).collect())
    }

    /// Pretty JSON, two-space indent, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\n  \"error\": \"{e}\"\n}}"));
        text.push('\n');
        text
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Str(s) => serializer.serialize_str(s),
            Node::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}
