//! The `kafka` backend: one Strimzi `KafkaTopic` per publishing context, and
//! `routing.yaml`, the table of which consumer group reads which topics and keeps
//! which event types.

use super::{Routes, publishers};
use crate::model::{ContextId, Model};
use crate::names::kebab;
use crate::wire::Wire;
use serde_json::{Value, json};

/// The Strimzi cluster the topics belong to (label `strimzi.io/cluster`).
const CLUSTER: &str = "kafka";
const PARTITIONS: u32 = 6;
const REPLICAS: u32 = 3;
/// Kubernetes names (RFC 1123 labels) are at most this long.
const MAX_K8S_NAME: usize = 63;

/// A Kubernetes resource name from a Kafka topic name: lower case, alphanumerics
/// and `-`, starting and ending alphanumeric.
fn k8s_name(topic: &str) -> String {
    let mut name = String::new();
    for c in topic.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    if name.len() > MAX_K8S_NAME {
        // Cut, and told apart from other long names by a hash of the whole topic.
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(topic.as_bytes());
        let hash: String = crate::ownership::hex(&digest[..4]);
        name.truncate(MAX_K8S_NAME - hash.len() - 1);
        name = format!("{}-{hash}", name.trim_end_matches('-'));
    }
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "events".to_string()
    } else {
        name
    }
}

/// The topic files and `routing.yaml`, in that order.
pub fn render(model: &Model, wire: &Wire, routes: &Routes) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = publishers(model)
        .into_iter()
        .map(|producer| {
            let (path, manifest) = topic(model, wire, producer);
            (path, super::yaml(&manifest))
        })
        .collect();
    files.push((
        ROUTING_FILE.to_string(),
        super::yaml(&table(model, wire, routes)),
    ));
    files
}

/// The table of which consumer group reads which topics.
pub const ROUTING_FILE: &str = "routing/kafka/routing.yaml";

/// The `KafkaTopic` of a publishing context: its path and manifest.
pub fn topic(model: &Model, wire: &Wire, producer: ContextId) -> (String, Value) {
    let topic = wire.topic(model, producer);
    let context = &model.context(producer).name.name;
    let manifest = json!({
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {
            "name": k8s_name(&topic),
            "labels": {
                "strimzi.io/cluster": CLUSTER,
                "storm/context": kebab(context),
            },
        },
        "spec": {
            "topicName": topic,
            "partitions": PARTITIONS,
            "replicas": REPLICAS,
            "config": {
                "cleanup.policy": "delete",
                "min.insync.replicas": 2,
            },
        },
    });
    (
        format!("routing/kafka/topics/{}.yaml", kebab(context)),
        manifest,
    )
}

/// `routing.yaml`: per consuming context, its group and what it reads.
pub fn table(model: &Model, wire: &Wire, routes: &Routes) -> Value {
    let groups: Vec<Value> = routes
        .consumers
        .iter()
        .map(|(consumer, by_producer)| {
            let topics: Vec<Value> = by_producer
                .iter()
                .map(|(producer, events)| {
                    let types: Vec<&str> =
                        events.iter().map(|&e| wire.event_type(model, e)).collect();
                    json!({
                        "topic": wire.topic(model, *producer),
                        "from": model.context(*producer).name.name,
                        "types": types,
                    })
                })
                .collect();
            json!({
                "group": kebab(&model.context(*consumer).name.name),
                "context": model.context(*consumer).name.name,
                "topics": topics,
            })
        })
        .collect();
    json!({
        "message_key": "aggregate id (CloudEvents subject)",
        "groups": groups,
    })
}
