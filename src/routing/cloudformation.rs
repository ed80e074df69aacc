//! The two AWS backends as CloudFormation templates: `eventbridge` (one bus, rules
//! into per-context inboxes) and `sns-sqs` (one topic per publishing context,
//! filtered subscriptions into per-context inboxes). Both share the inboxes, the
//! event store tables (the key layout of cqrs-es's `dynamo-es`) and the pipes that
//! carry what the service appends to its store onto the broker.

use super::{Options, Routes, publishers, stores};
use crate::model::{ContextId, EventId, Model};
use crate::schemas::EventSchemas;
use crate::wire::{Wire, metadata};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// AWS rejects an event pattern longer than this.
const MAX_PATTERN_LEN: usize = 2048;
/// The tag every queue, topic and table carries.
const CONTEXT_TAG: &str = "storm:context";
/// Deliveries before a message moves to the dead-letter queue.
const MAX_RECEIVE_COUNT: u32 = 5;
/// Fourteen days, the longest SQS keeps a message.
const DLQ_RETENTION_SECONDS: u32 = 1_209_600;
/// How often a dead-letter queue's alarm looks at it, in seconds.
const ALARM_PERIOD_SECONDS: u32 = 300;

/// How data at rest is encrypted: with AWS-managed keys (the default), or with
/// the customer-managed KMS key of `targets: { routing: { kms_key: ... } }`.
#[derive(Clone, Copy)]
enum Encryption<'a> {
    AwsManaged,
    Customer(&'a str),
}

/// Why a checkov check demanding a customer-managed key is skipped by default.
const AWS_MANAGED: &str = "encrypted at rest with an AWS-managed key, storm's default; set `targets: { routing: { kms_key: <key ARN> } }` in storm.yaml to use a customer-managed key";

impl<'a> Encryption<'a> {
    fn of(options: &'a Options) -> Encryption<'a> {
        match &options.kms_key {
            Some(key) => Encryption::Customer(key),
            None => Encryption::AwsManaged,
        }
    }

    /// The queue properties that encrypt it, and the checks that do not fit.
    /// SQS-managed SSE by default: the AWS-managed key `alias/aws/sqs` cannot be
    /// used here, as its key policy cannot let EventBridge or SNS deliver.
    fn queue(self) -> (Value, Vec<Skip>) {
        match self {
            Encryption::AwsManaged => (
                json!({ "SqsManagedSseEnabled": true }),
                vec![Skip(
                    "CKV_AWS_27",
                    "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), storm's default, which this check does not recognise; the AWS-managed key alias/aws/sqs would stop EventBridge and SNS from delivering. Set `targets: { routing: { kms_key: <key ARN> } }` in storm.yaml to use a customer-managed key",
                )],
            ),
            Encryption::Customer(key) => (json!({ "KmsMasterKeyId": key }), vec![]),
        }
    }

    fn topic_key(self) -> &'a str {
        match self {
            Encryption::AwsManaged => "alias/aws/sns",
            Encryption::Customer(key) => key,
        }
    }

    /// The table's `SSESpecification`, and the checks that do not fit.
    fn table(self) -> (Value, Vec<Skip>) {
        match self {
            Encryption::AwsManaged => (
                json!({ "SSEEnabled": true }),
                vec![Skip("CKV_AWS_119", AWS_MANAGED)],
            ),
            Encryption::Customer(key) => (
                json!({ "SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": key }),
                vec![],
            ),
        }
    }

    /// The customer-managed key, for resources that are encrypted with an AWS
    /// owned key unless told otherwise (the bus, its archive).
    fn customer(self) -> Option<&'a str> {
        match self {
            Encryption::AwsManaged => None,
            Encryption::Customer(key) => Some(key),
        }
    }

    /// The key as an IAM policy can name it: a key ARN. An alias ARN in a
    /// policy's `Resource` grants nothing on the key, so with an alias the key
    /// policy has to allow the pipes (README, "Safe by default").
    fn key_arn(self) -> Option<&'a str> {
        self.customer().filter(|key| key.contains(":key/"))
    }
}

/// A checkov check skipped on one resource, with the reason.
struct Skip(&'static str, &'static str);

/// A resource with its checkov skips in its own metadata (never global).
fn resource(mut body: Value, skips: Vec<Skip>) -> Value {
    if !skips.is_empty() {
        let skip: Vec<Value> = skips
            .iter()
            .map(|Skip(id, comment)| json!({ "id": id, "comment": comment }))
            .collect();
        body["Metadata"] = json!({ "checkov": { "skip": skip } });
    }
    body
}

fn merge(mut into: Value, from: Value) -> Value {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
    into
}

/// Logical ids: alphanumeric and unique in the template, derived from names.
#[derive(Default)]
struct Ids(BTreeSet<String>);

impl Ids {
    fn take(&mut self, base: &str) -> String {
        let base: String = base.chars().filter(char::is_ascii_alphanumeric).collect();
        let base = if base.is_empty() {
            "Resource".to_string()
        } else {
            base
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.0.insert(candidate.clone()) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        candidate
    }
}

/// What a context brings to a template.
struct Ctx {
    name: String,
    /// Its name as a logical-id prefix.
    pascal: String,
}

fn ctx(model: &Model, c: ContextId) -> Ctx {
    let name = model.context(c).name.name.clone();
    Ctx {
        pascal: crate::names::pascal(&name),
        name,
    }
}

fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

fn tags(context: &str) -> Value {
    json!([{ "Key": CONTEXT_TAG, "Value": context }])
}

/// The resources and outputs of a template being built.
#[derive(Default)]
pub(super) struct Template {
    ids: Ids,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

/// Which part of a template to build: all of it (a fresh render), or one part
/// of it (`storm watch` keeps parts by what they read). The parts are the
/// model-wide resources (the bus, its archive, the registry, the envelope
/// builders' role) and each context's own (its topic, inbox, rules or
/// subscriptions, event store and pipe, registry schemas). Each part takes its
/// logical ids in the order a whole build takes them, so when no two parts take
/// the same id, every id is the one the whole build gives ([`Part::join`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    All,
    Global,
    Context(ContextId),
}

impl Scope {
    fn global(self) -> bool {
        matches!(self, Scope::All | Scope::Global)
    }

    fn has(self, context: ContextId) -> bool {
        match self {
            Scope::All => true,
            Scope::Global => false,
            Scope::Context(c) => c == context,
        }
    }
}

/// The logical id the first take of `base` gives in a part: what another part
/// refers to (the bus, a producer's topic) by name.
fn first_id(base: &str) -> String {
    Ids::default().take(base)
}

/// One part of a template (see [`Scope`]): its resources, outputs and the
/// logical ids it took.
pub(super) struct Part {
    pub resources: Map<String, Value>,
    pub outputs: Map<String, Value>,
    pub ids: BTreeSet<String>,
}

impl Part {
    fn of(t: Template) -> Part {
        Part {
            resources: t.resources,
            outputs: t.outputs,
            ids: t.ids.0,
        }
    }

    /// The template of the parts, as a whole build gives it; `None` when two
    /// parts took the same logical id (the whole build would have numbered one
    /// of them), or when there is nothing to route: build the whole then.
    pub fn join<'a>(parts: impl Iterator<Item = &'a Part>, description: &str) -> Option<Value> {
        let mut t = Template::default();
        for part in parts {
            for id in &part.ids {
                if !t.ids.0.insert(id.clone()) {
                    return None;
                }
            }
            t.resources
                .extend(part.resources.iter().map(|(k, v)| (k.clone(), v.clone())));
            t.outputs
                .extend(part.outputs.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if t.resources.is_empty() {
            return None;
        }
        Some(t.finish(description))
    }
}

impl Template {
    fn add(&mut self, id: &str, resource: Value) {
        self.resources.insert(id.to_string(), resource);
    }

    fn output(&mut self, base: &str, description: String, value: Value) {
        let id = self.ids.take(base);
        self.outputs
            .insert(id, json!({ "Description": description, "Value": value }));
    }

    fn finish(mut self, description: &str) -> Value {
        if self.resources.is_empty() {
            // CloudFormation rejects a template without resources; a model with
            // nothing to route still gets a stack that deploys (and does nothing).
            let id = self.ids.take("NothingToRoute");
            self.add(
                &id,
                json!({ "Type": "AWS::CloudFormation::WaitConditionHandle" }),
            );
        }
        let mut template = Map::new();
        template.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        template.insert("Description".into(), json!(description));
        template.insert("Resources".into(), Value::Object(self.resources));
        if !self.outputs.is_empty() {
            template.insert("Outputs".into(), Value::Object(self.outputs));
        }
        Value::Object(template)
    }
}

/// The logical ids of a consuming context's inbox and of its queue policy.
struct Inbox {
    queue: String,
    policy: String,
}

fn inboxes(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    encryption: Encryption,
    t: &mut Template,
    scope: Scope,
) -> BTreeMap<ContextId, Inbox> {
    let mut out = BTreeMap::new();
    for &consumer in routes.consumers.keys() {
        if !scope.has(consumer) {
            continue;
        }
        let c = ctx(model, consumer);
        let queue = t.ids.take(&format!("{}Inbox", c.pascal));
        let dlq = t.ids.take(&format!("{}DeadLetters", c.pascal));
        let alarm = t.ids.take(&format!("{}DeadLettersAlarm", c.pascal));
        let policy = t.ids.take(&format!("{}InboxPolicy", c.pascal));
        let name = wire.inbox(model, consumer);
        let dlq_name = wire.dead_letter_queue(model, consumer);
        let (encrypted, skips) = encryption.queue();
        t.add(
            &dlq,
            resource(
                json!({
                    "Type": "AWS::SQS::Queue",
                    "Properties": merge(json!({
                        "QueueName": dlq_name,
                        "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                        // Only the inbox may move its failures here.
                        "RedriveAllowPolicy": {
                            "redrivePermission": "byQueue",
                            "sourceQueueArns": [queue_arn(&name)],
                        },
                        "Tags": tags(&c.name),
                    }), encrypted.clone()),
                }),
                skips,
            ),
        );
        let (_, skips) = encryption.queue();
        t.add(
            &queue,
            resource(
                json!({
                    "Type": "AWS::SQS::Queue",
                    "Properties": merge(json!({
                        "QueueName": name,
                        "RedrivePolicy": {
                            "deadLetterTargetArn": get_att(&dlq, "Arn"),
                            "maxReceiveCount": MAX_RECEIVE_COUNT,
                        },
                        "Tags": tags(&c.name),
                    }), encrypted),
                }),
                skips,
            ),
        );
        t.add(
            &alarm,
            json!({
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmDescription": format!(
                        "Events that `{}` failed to handle {MAX_RECEIVE_COUNT} times wait in `{dlq_name}` (kept 14 days): fix the cause, then redrive them to `{name}`",
                        c.name
                    ),
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{ "Name": "QueueName", "Value": get_att(&dlq, "QueueName") }],
                    "Statistic": "Maximum",
                    "Period": ALARM_PERIOD_SECONDS,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                    "Tags": tags(&c.name),
                }
            }),
        );
        t.output(
            &format!("{}DeadLettersAlarmName", c.pascal),
            format!(
                "The alarm that fires when a message of `{}` lands in its dead-letter queue; attach your notifications to it",
                c.name
            ),
            reference(&alarm),
        );
        t.output(
            &format!("{}InboxUrl", c.pascal),
            format!("URL of the queue `{}` reads its events from", c.name),
            reference(&queue),
        );
        t.output(
            &format!("{}InboxArn", c.pascal),
            format!("ARN of the queue `{}` reads its events from", c.name),
            get_att(&queue, "Arn"),
        );
        out.insert(consumer, Inbox { queue, policy });
    }
    out
}

/// The ARN of a queue of this stack, by name (without a reference, which would
/// make a dead-letter queue and its inbox depend on each other).
fn queue_arn(name: &str) -> Value {
    json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}") })
}

/// The queue policy letting `service` send to an inbox, only from `senders`.
fn queue_policy(inbox: &Inbox, context: &str, service: &str, senders: Vec<Value>) -> Value {
    json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [reference(&inbox.queue)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": format!("DeliverTo{}", crate::names::pascal(context)),
                    "Effect": "Allow",
                    "Principal": { "Service": service },
                    "Action": "sqs:SendMessage",
                    "Resource": get_att(&inbox.queue, "Arn"),
                    "Condition": { "ArnEquals": { "aws:SourceArn": senders } },
                }]
            }
        }
    })
}

/// How the envelope of one stored event is built, in JSONata over a batch of
/// DynamoDB stream records (`$states.input`), always an array (one element per
/// record, also for a batch of one). `envelope` is a JSONata object
/// constructor that may use `$img` (the record's new image), `$r` (the record),
/// `$t` (the event type) and `$fields` (the payload's fields).
fn envelope_builder(envelope: &str) -> String {
    // cqrs-es stores `Payload` as JSON bytes (base64 in the stream) of the
    // aggregate's event enum: `{"<EventType>": {fields}}`, or the bare fields.
    format!(
        "{{% [$map($states.input, function($r) {{ ( \
$img := $r.dynamodb.NewImage; \
$t := $img.EventType.S; \
$payload := $parse($base64decode($img.Payload.B)); \
$inner := $type($payload) = 'object' and $exists($lookup($payload, $t)) ? $lookup($payload, $t) : $payload; \
$fields := $type($inner) = 'object' ? $inner : {{}}; \
{envelope} ) }})] %}}"
    )
}

/// A JSONata object literal from event types to a value.
fn lookup_table(model: &Model, context: ContextId, value: impl Fn(EventId) -> Value) -> String {
    let table: Map<String, Value> = model
        .event_ids()
        .filter(|&e| model.event(e).context == context)
        .map(|e| (model.event(e).name.name.clone(), value(e)))
        .collect();
    Value::Object(table).to_string()
}

/// Where a store's pipe sends, and how.
struct PipeTarget {
    arn: Value,
    /// What the pipe's role may do there.
    action: &'static str,
    /// What the pipe's role may do with the customer-managed key, besides
    /// decrypting the stream (publishing to an encrypted topic needs data keys).
    key_actions: &'static [&'static str],
    parameters: Option<Value>,
    /// The JSONata envelope (see [`envelope_builder`]).
    envelope: String,
}

/// Per context with aggregates: the event store table (dynamo-es keys, stream on,
/// retained) and a pipe from its stream, through an express state machine that
/// builds the envelope, to the broker.
fn stores_and_pipes(
    model: &Model,
    wire: &Wire,
    encryption: Encryption,
    t: &mut Template,
    scope: Scope,
    target: impl Fn(ContextId) -> PipeTarget,
) {
    let contexts = stores(model);
    if contexts.is_empty() {
        return;
    }
    let builder_role = if scope.global() {
        t.ids.take("EnvelopeBuilderRole")
    } else {
        first_id("EnvelopeBuilderRole")
    };
    if scope.global() {
        t.add(
        &builder_role,
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Runs the state machines that turn stored events into envelopes; they call no service.",
                "AssumeRolePolicyDocument": assume_role("states.amazonaws.com"),
            }
        }),
    );
    }
    for context in contexts {
        if !scope.has(context) {
            continue;
        }
        let c = ctx(model, context);
        let table = t.ids.take(&format!("{}EventStore", c.pascal));
        let builder = t.ids.take(&format!("{}EnvelopeBuilder", c.pascal));
        let role = t.ids.take(&format!("{}PipeRole", c.pascal));
        let pipe = t.ids.take(&format!("{}EventPipe", c.pascal));
        let table_name = wire.event_store_table(model, context);
        let (sse, skips) = encryption.table();
        t.add(
            &table,
            resource(
                json!({
                    "Type": "AWS::DynamoDB::Table",
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": {
                        "TableName": table_name,
                        "BillingMode": "PAY_PER_REQUEST",
                        "DeletionProtectionEnabled": true,
                        "SSESpecification": sse,
                        "AttributeDefinitions": [
                            { "AttributeName": "AggregateTypeAndId", "AttributeType": "S" },
                            { "AttributeName": "AggregateIdSequence", "AttributeType": "N" },
                        ],
                        "KeySchema": [
                            { "AttributeName": "AggregateTypeAndId", "KeyType": "HASH" },
                            { "AttributeName": "AggregateIdSequence", "KeyType": "RANGE" },
                        ],
                        "StreamSpecification": { "StreamViewType": "NEW_IMAGE" },
                        "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                        "Tags": tags(&c.name),
                    }
                }),
                skips,
            ),
        );
        t.output(
            &format!("{}EventStoreTable", c.pascal),
            format!(
                "The event store table of `{}` (cqrs-es dynamo-es layout)",
                c.name
            ),
            reference(&table),
        );
        let to = target(context);
        t.add(
            &builder,
            json!({
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "EXPRESS",
                    "RoleArn": get_att(&builder_role, "Arn"),
                    "Definition": {
                        "Comment": format!("Builds the envelopes of the events `{}` stores", c.name),
                        "QueryLanguage": "JSONata",
                        "StartAt": "BuildEnvelopes",
                        "States": {
                            "BuildEnvelopes": {
                                "Type": "Pass",
                                "Output": envelope_builder(&to.envelope),
                                "End": true,
                            }
                        }
                    }
                }
            }),
        );
        let mut statements = vec![
            json!({
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": get_att(&table, "StreamArn"),
            }),
            json!({
                "Effect": "Allow",
                "Action": "states:StartSyncExecution",
                "Resource": reference(&builder),
            }),
            json!({
                "Effect": "Allow",
                "Action": to.action,
                "Resource": to.arn.clone(),
            }),
        ];
        if let Some(key) = encryption.key_arn() {
            let actions: Vec<&str> = std::iter::once("kms:Decrypt")
                .chain(to.key_actions.iter().copied())
                .collect();
            statements.push(json!({ "Effect": "Allow", "Action": actions, "Resource": key }));
        }
        t.add(
            &role,
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": format!("Lets the pipe of `{}` read its event store stream and publish", c.name),
                    "AssumeRolePolicyDocument": assume_role("pipes.amazonaws.com"),
                    "Policies": [{
                        "PolicyName": "publish-stored-events",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": statements,
                        }
                    }]
                }
            }),
        );
        t.output(
            &format!("{}PipeRoleArn", c.pascal),
            format!(
                "The role the pipe of `{}` runs as (with a customer-managed key given by alias, the key policy must allow it; see the README)",
                c.name
            ),
            get_att(&role, "Arn"),
        );
        let mut properties = json!({
            "Description": format!("Publishes what `{}` appends to its event store", c.name),
            "RoleArn": get_att(&role, "Arn"),
            "Source": get_att(&table, "StreamArn"),
            "SourceParameters": {
                "DynamoDBStreamParameters": { "StartingPosition": "TRIM_HORIZON", "BatchSize": 10 },
                "FilterCriteria": { "Filters": [{ "Pattern": r#"{"eventName":["INSERT"]}"# }] },
            },
            "Enrichment": reference(&builder),
            "Target": to.arn,
        });
        if let Some(parameters) = to.parameters {
            properties["TargetParameters"] = parameters;
        }
        t.add(
            &pipe,
            json!({ "Type": "AWS::Pipes::Pipe", "Properties": properties }),
        );
    }
}

fn assume_role(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": reference("AWS::AccountId") } },
        }]
    })
}

/// Splits event types into groups whose event pattern stays within AWS's limit.
/// The pattern's length grows by each type's JSON string and a comma, so it is
/// counted as types are added instead of re-serialising the pattern each time.
fn pattern_chunks(source: &str, types: Vec<String>) -> Vec<Value> {
    let pattern = |types: &[String]| json!({ "source": [source], "detail-type": types });
    let empty = pattern(&[]).to_string().len();
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut len = empty;
    for ty in types {
        let size = Value::String(ty.clone()).to_string().len();
        if !current.is_empty() && len + 1 + size > MAX_PATTERN_LEN {
            chunks.push(std::mem::take(&mut current));
            len = empty;
        }
        len += size + usize::from(!current.is_empty());
        current.push(ty);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks.iter().map(|c| pattern(c)).collect()
}

/// `schemas`, when given, has the registry's event schemas (the `schemas/`
/// target writes them too); otherwise they are written here.
pub fn eventbridge(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    options: &Options,
    schemas: Option<&EventSchemas>,
) -> Value {
    eventbridge_part(model, wire, routes, options, schemas, Scope::All)
        .finish(&eventbridge_description(wire))
}

pub(super) fn eventbridge_description(wire: &Wire) -> String {
    format!(
        "storm: EventBridge routing of `{}`: the bus, its archive, one inbox per consuming context (with a watched dead-letter queue), the rules of every subscription, the event stores and their pipes, and the schema registry",
        wire.namespace
    )
}

/// The part `scope` of the EventBridge template (see [`eventbridge`]).
pub(super) fn eventbridge_scoped(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    options: &Options,
    scope: Scope,
) -> Part {
    Part::of(eventbridge_part(model, wire, routes, options, None, scope))
}

fn eventbridge_part(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    options: &Options,
    schemas: Option<&EventSchemas>,
    scope: Scope,
) -> Template {
    let encryption = Encryption::of(options);
    let mut t = Template::default();
    // The bus, its archive and the registry belong to the model-wide part; a
    // context's part only refers to them.
    let (bus, registry, registry_body) = if scope.global() {
        let bus = t.ids.take("EventBus");
        let archive = t.ids.take("EventArchive");
        let registry = t.ids.take("SchemaRegistry");
        let mut bus_properties = json!({ "Name": wire.bus() });
        let mut archive_properties = json!({
            "Description": "Every event of the bus, for replay",
            "SourceArn": get_att(&bus, "Arn"),
        });
        if let Some(key) = encryption.customer() {
            bus_properties["KmsKeyIdentifier"] = json!(key);
            archive_properties["KmsKeyIdentifier"] = json!(key);
        }
        t.add(
            &bus,
            json!({ "Type": "AWS::Events::EventBus", "Properties": bus_properties }),
        );
        t.add(
            &archive,
            json!({ "Type": "AWS::Events::Archive", "Properties": archive_properties }),
        );
        t.output(
            "EventBusName",
            "The event bus".into(),
            get_att(&bus, "Name"),
        );
        t.output(
            "EventBusArn",
            "ARN of the event bus".into(),
            get_att(&bus, "Arn"),
        );
        let registry_body = json!({
            "Type": "AWS::EventSchemas::Registry",
            "Properties": {
                "RegistryName": wire.bus(),
                "Description": "The contract of every event on the bus (the payload in `detail`)",
            }
        });
        (bus, registry, Some(registry_body))
    } else {
        (first_id("EventBus"), first_id("SchemaRegistry"), None)
    };
    eventbridge_contexts(
        model, wire, routes, encryption, schemas, scope, &mut t, &bus, &registry,
    );
    if let Some(body) = registry_body {
        t.add(&registry, body);
    }
    t
}

/// What the EventBridge template holds for the contexts of `scope`.
#[allow(clippy::too_many_arguments)]
fn eventbridge_contexts(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    encryption: Encryption,
    schemas: Option<&EventSchemas>,
    scope: Scope,
    t: &mut Template,
    bus: &str,
    registry: &str,
) {
    let inboxes = inboxes(model, wire, routes, encryption, t, scope);
    for (consumer, by_producer) in &routes.consumers {
        if !scope.has(*consumer) {
            continue;
        }
        let c = ctx(model, *consumer);
        let inbox = &inboxes[consumer];
        let mut rules = Vec::new();
        for (producer, events) in by_producer {
            let p = ctx(model, *producer);
            let types = events
                .iter()
                .map(|&e| wire.event_type(model, e).to_string())
                .collect();
            for pattern in pattern_chunks(&wire.source(model, *producer), types) {
                let rule = t.ids.take(&format!("{}From{}Rule", c.pascal, p.pascal));
                t.add(
                    &rule,
                    json!({
                        "Type": "AWS::Events::Rule",
                        "Properties": {
                            "Description": format!("Events of `{}` that `{}` subscribes to", p.name, c.name),
                            "EventBusName": get_att(bus, "Name"),
                            "EventPattern": pattern,
                            "State": "ENABLED",
                            "Targets": [{ "Id": "inbox", "Arn": get_att(&inbox.queue, "Arn") }],
                        }
                    }),
                );
                rules.push(get_att(&rule, "Arn"));
            }
        }
        let policy = queue_policy(inbox, &c.name, "events.amazonaws.com", rules);
        t.add(&inbox.policy, policy);
    }
    stores_and_pipes(model, wire, encryption, t, scope, |context| {
        let versions = lookup_table(model, context, |e| json!(model.event(e).version));
        PipeTarget {
            arn: get_att(bus, "Arn"),
            action: "events:PutEvents",
            key_actions: &[],
            parameters: Some(json!({
                "EventBridgeEventBusParameters": {
                    "Source": wire.source(model, context),
                    "DetailType": "$.detailType",
                },
                "InputTemplate": "<$.detail>",
            })),
            envelope: format!(
                "{{ 'detailType': $t, 'detail': $merge([$fields, {{ '{key}': {{ '{id}': $img.AggregateId.S, '{version}': $number($img.AggregateIdSequence.N), '{event_version}': $lookup({versions}, $t) }} }}]) }}",
                key = metadata::KEY,
                id = metadata::AGGREGATE_ID,
                version = metadata::AGGREGATE_VERSION,
                event_version = metadata::EVENT_VERSION,
            ),
        }
    });
    for event in model.event_ids() {
        let e = model.event(event);
        if !scope.has(e.context) {
            continue;
        }
        let c = ctx(model, e.context);
        let id = t.ids.take(&format!("{}{}Schema", c.pascal, e.name.name));
        let content = match schemas {
            Some(schemas) => schemas.take(model, event),
            None => crate::schemas::event_schema(model, event),
        };
        // A doc comment may say `${AWS::Region}`: CloudFormation substitutes only
        // inside `Fn::Sub`, but cfn-lint reports any such text (E1029).
        let substitution_like = content.contains("${");
        let mut schema = json!({
            "Type": "AWS::EventSchemas::Schema",
            "Properties": {
                "RegistryName": get_att(registry, "RegistryName"),
                "SchemaName": format!("{}@{}", wire.source(model, e.context), e.name.name),
                "Description": format!("`{}` version {}", model.event_path(event), e.version),
                "Type": "JSONSchemaDraft4",
                "Content": content,
            }
        });
        if substitution_like {
            schema["Metadata"] =
                json!({ "cfn-lint": { "config": { "ignore_checks": ["E1029"] } } });
        }
        t.add(&id, schema);
    }
}

pub fn sns_sqs(model: &Model, wire: &Wire, routes: &Routes, options: &Options) -> Value {
    sns_sqs_part(model, wire, routes, options, Scope::All).finish(&sns_sqs_description(wire))
}

pub(super) fn sns_sqs_description(wire: &Wire) -> String {
    format!(
        "storm: SNS and SQS routing of `{}`: one topic per publishing context, one inbox per consuming context (with a watched dead-letter queue) and filtered subscriptions, the event stores and their pipes",
        wire.namespace
    )
}

/// The part `scope` of the SNS and SQS template (see [`sns_sqs`]).
pub(super) fn sns_sqs_scoped(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    options: &Options,
    scope: Scope,
) -> Part {
    Part::of(sns_sqs_part(model, wire, routes, options, scope))
}

fn sns_sqs_part(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    options: &Options,
    scope: Scope,
) -> Template {
    let encryption = Encryption::of(options);
    let mut t = Template::default();
    let mut topics: BTreeMap<ContextId, String> = BTreeMap::new();
    for producer in publishers(model) {
        let p = ctx(model, producer);
        if !scope.has(producer) {
            // Another part's topic, as that part names it.
            topics.insert(producer, first_id(&format!("{}Topic", p.pascal)));
            continue;
        }
        let topic = t.ids.take(&format!("{}Topic", p.pascal));
        t.add(
            &topic,
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": wire.sns_topic(model, producer),
                    "KmsMasterKeyId": encryption.topic_key(),
                    "Tags": tags(&p.name),
                }
            }),
        );
        t.output(
            &format!("{}TopicArn", p.pascal),
            format!("ARN of the topic `{}` publishes to", p.name),
            reference(&topic),
        );
        topics.insert(producer, topic);
    }
    let inboxes = inboxes(model, wire, routes, encryption, &mut t, scope);
    for (consumer, by_producer) in &routes.consumers {
        if !scope.has(*consumer) {
            continue;
        }
        let c = ctx(model, *consumer);
        let inbox = &inboxes[consumer];
        let mut senders = Vec::new();
        for (producer, events) in by_producer {
            let p = ctx(model, *producer);
            let topic = &topics[producer];
            let types: Vec<&str> = events.iter().map(|&e| wire.event_type(model, e)).collect();
            let subscription = t
                .ids
                .take(&format!("{}From{}Subscription", c.pascal, p.pascal));
            t.add(
                &subscription,
                json!({
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {
                        "TopicArn": reference(topic),
                        "Protocol": "sqs",
                        "Endpoint": get_att(&inbox.queue, "Arn"),
                        "RawMessageDelivery": true,
                        "FilterPolicyScope": "MessageBody",
                        "FilterPolicy": { "type": types },
                    }
                }),
            );
            senders.push(reference(topic));
        }
        let policy = queue_policy(inbox, &c.name, "sns.amazonaws.com", senders);
        t.add(&inbox.policy, policy);
    }
    stores_and_pipes(model, wire, encryption, &mut t, scope, |context| {
        let source = wire.source(model, context);
        let schemas = lookup_table(model, context, |e| json!(wire.dataschema(model, e)));
        PipeTarget {
            arn: reference(&topics[&context]),
            action: "sns:Publish",
            key_actions: &["kms:GenerateDataKey"],
            parameters: None,
            envelope: format!(
                "{{ 'specversion': '1.0', 'id': $img.AggregateTypeAndId.S & '/' & $img.AggregateIdSequence.N, 'source': {source}, 'type': $t, 'subject': $img.AggregateId.S, 'time': $fromMillis($r.dynamodb.ApproximateCreationDateTime * 1000), 'datacontenttype': 'application/json', 'dataschema': $lookup({schemas}, $t), 'data': $fields }}",
                source = Value::String(source),
            ),
        }
    });
    t
}
