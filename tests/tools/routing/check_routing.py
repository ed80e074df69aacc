#!/usr/bin/env python3
"""Checks storm's `routing/` output with the real tools; driven by tests/routing.rs.

Usage: check_routing.py MANIFEST.json

The manifest lists cases: a directory holding routing/eventbridge, routing/sns-sqs
and routing/kafka as storm generated them, and what the model says (`expected`:
every event with its source and type, every subscription with its consumer's
inbox). Checks, per case:

1. cfn-lint reports nothing on both CloudFormation templates (one run for all).
2. Structure: inboxes with dead-letter queues, queue policies limited (aws:SourceArn)
   to exactly the rules / topics that deliver to the queue (moto never enforces
   policies, so this is checked here), tags, event store tables in the dynamo-es
   key layout with a pipe to the broker, the schema registry (each Content a valid
   draft-04 schema), the archive, the outputs.
3. LocalStack's engines (offline): every event pattern and filter policy is valid
   by AWS's rules, and each event's envelope matches exactly the rules / filters of
   its consumers, once each.
4. The pipes, simulated: every event an aggregate stores goes, as the DynamoDB
   stream record cqrs-es's dynamo-es writes, through the pipe's filter (LocalStack's
   engine) and its envelope builder (the state machine's JSONata, evaluated by the
   jsonata package through envelopes.js), then the pipe's target parameters; the
   result must be the envelope outputs.md defines (EventBridge: source, detail-type,
   payload fields + `metadata`; SNS: CloudEvents 1.0).
5. moto, end to end: the template deployed with CloudFormation, every event of the
   model published (what the pipes built for stored events, the envelope an
   external system sends for the others: put_events on the bus, publish on the
   topic), and each inbox receives exactly the events it subscribes to, once, and
   nothing else. moto gaps worked around here, never in the output: `AWS::Pipes::Pipe` and
   `AWS::EventSchemas::*` and `AWS::CloudWatch::Alarm` are not supported by moto's
   CloudFormation and are removed from the copy deployed (checked structurally above); `Ref` of an `AWS::Events::EventBus` is
   replaced by the bus name; `AWS::SNS::Subscription` and `AWS::SQS::QueuePolicy`
   are skipped by moto's CloudFormation, so subscriptions are made through the API
   from the template's resources.
6. Safe by default (issue 7), per AWS template: event store tables retained (both
   policies), deletion-protected, point-in-time recoverable, encrypted, NEW_IMAGE
   stream; every queue, topic and table encrypted at rest (AWS-managed keys, or the
   case's customer-managed `kms_key` everywhere, the bus and archive included);
   no `*` in any Action, Resource or Principal; every queue policy statement allows
   one service principal with an aws:SourceArn condition; each pipe's role grants
   exactly: read its table's stream, start its envelope builder, publish to its
   target (and, with a key ARN, use the key); the envelope builders' role grants
   nothing; dead-letter queues keep 14 days, only their inbox may redrive into
   them, redrive after a bounded receive count, and each has one alarm on
   ApproximateNumberOfMessagesVisible > 0; checkov skips only the checks that
   demand a customer-managed key, only without one, each with a reason.
7. checkov (STORM_CHECKOV, `--skip-download`, one run for all templates) reports
   no failed check and no parsing error.
8. Kafka: KafkaTopic manifests with valid topic and Kubernetes names, partitions
   and replicas >= 1, one per publishing context; routing.yaml agrees with the
   model's subscriptions.

Prints `N models checked` and exits 0 when everything holds; lists every failure
otherwise.
"""

import base64
import copy
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

import boto3  # noqa: E402
import jsonschema  # noqa: E402
from localstack.services.events.event_rule_engine import (  # noqa: E402
    EventPatternCompiler,
    EventRuleEngine,
)
from localstack.services.sns.filter import (  # noqa: E402
    FilterPolicyValidator,
    SubscriptionFilter,
)
from moto import mock_aws  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
TAG = "storm:context"
MAX_PATTERN = 2048
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KAFKA_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
MOTO_UNSUPPORTED = {
    "AWS::CloudWatch::Alarm",
    "AWS::Pipes::Pipe",
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",
}


class Case:
    def __init__(self, raw):
        self.name = raw["name"]
        self.dir = Path(raw["dir"])
        self.expected = raw["expected"]
        self.kms_key = raw.get("kms_key")
        self.failures = []

    def fail(self, backend, message):
        self.failures.append(f"{self.name} [{backend}]: {message}")

    def template(self, backend):
        return self.dir / "routing" / backend / "template.yaml"

    def expected_inboxes(self, source, ty):
        """Sorted inboxes that must receive the event (source, type)."""
        return sorted(
            s["inbox"]
            for s in self.expected["subscriptions"]
            if s["source"] == source and s["type"] == ty
        )

    def expected_deliveries(self):
        """inbox -> sorted [(source, type)] it must receive, once each."""
        out = {}
        for s in self.expected["subscriptions"]:
            out.setdefault(s["inbox"], []).append((s["source"], s["type"]))
        return {k: sorted(v) for k, v in out.items()}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def of_type(template, ty):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == ty}


def get_att(value, attribute):
    """The logical id in `{"Fn::GetAtt": [id, attribute]}`, or None."""
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        target, att = value["Fn::GetAtt"]
        if att == attribute:
            return target
    return None


def ref(value):
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return value["Ref"]
    return None


def context_tag(resource):
    tags = resource["Properties"].get("Tags") or []
    values = [t["Value"] for t in tags if t.get("Key") == TAG]
    return values[0] if len(values) == 1 else None


def sample_detail(event, n):
    return {
        "metadata": {
            "aggregate_id": f"{event['type']}-{n}",
            "aggregate_version": 1,
            "event_version": 1,
        }
    }


def cloudevent(event, n):
    return {
        "specversion": "1.0",
        "id": f"{event['source']}/{n}",
        "source": event["source"],
        "type": event["type"],
        "subject": f"{event['type']}-{n}",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "dataschema": event["dataschema"],
        "data": {},
    }


def eventbridge_envelope(event, n):
    return {
        "version": "0",
        "id": f"00000000-0000-0000-0000-{n:012d}",
        "detail-type": event["type"],
        "source": event["source"],
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": sample_detail(event, n),
    }


# ---------------------------------------------------------------------------
# Structure shared by both AWS templates


def check_queues(case, backend, template):
    """Inboxes (by queue name) -> logical id; checks DLQs and tags."""
    if not template.get("Resources"):
        case.fail(backend, "CloudFormation rejects a template without resources")
    queues = of_type(template, "AWS::SQS::Queue")
    names = {v["Properties"]["QueueName"]: k for k, v in queues.items()}
    contexts = {c["inbox"]: c["name"] for c in case.expected["contexts"]}
    consumers = {s["inbox"] for s in case.expected["subscriptions"]}
    inboxes = {}
    for name, logical in names.items():
        props = queues[logical]["Properties"]
        tag = context_tag(queues[logical])
        if tag is None:
            case.fail(backend, f"queue {name} has no single `{TAG}` tag")
        if "RedrivePolicy" in props:
            dlq = get_att(props["RedrivePolicy"].get("deadLetterTargetArn"), "Arn")
            if dlq not in queues:
                case.fail(backend, f"queue {name}: redrive target is not a queue of the template")
            elif context_tag(queues[dlq]) != tag:
                case.fail(backend, f"queue {name}: its dead-letter queue has another context tag")
            if not int(props["RedrivePolicy"].get("maxReceiveCount", 0)) >= 1:
                case.fail(backend, f"queue {name}: maxReceiveCount < 1")
            inboxes[name] = logical
            if contexts.get(name) != tag:
                case.fail(backend, f"inbox {name} tagged {tag!r}, expected {contexts.get(name)!r}")
    if set(inboxes) != consumers:
        case.fail(
            backend,
            f"inboxes {sorted(inboxes)} but consuming contexts have {sorted(consumers)}",
        )
    dlqs = {get_att(queues[l]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], "Arn") for l in inboxes.values()}
    extra = set(queues) - set(inboxes.values()) - dlqs
    if extra:
        case.fail(backend, f"queues that are neither inbox nor dead-letter queue: {sorted(extra)}")
    return inboxes


def check_policies(case, backend, template, inboxes, service, senders_of):
    """Every inbox has exactly one policy for `service` limited to its senders."""
    policies = of_type(template, "AWS::SQS::QueuePolicy")
    for name, logical in inboxes.items():
        mine = [
            p for p in policies.values()
            if any(ref(q) == logical for q in p["Properties"]["Queues"])
        ]
        if len(mine) != 1:
            case.fail(backend, f"inbox {name}: {len(mine)} queue policies, expected 1")
            continue
        statements = mine[0]["Properties"]["PolicyDocument"]["Statement"]
        expected = sorted(json.dumps(s, sort_keys=True) for s in senders_of(logical))
        ok = False
        for st in statements:
            if st.get("Effect") != "Allow" or st.get("Principal") != {"Service": service}:
                case.fail(backend, f"inbox {name}: a statement not for {service}: {st}")
                continue
            if st.get("Action") != "sqs:SendMessage" or get_att(st.get("Resource"), "Arn") != logical:
                case.fail(backend, f"inbox {name}: statement must allow sqs:SendMessage on the inbox")
            arns = st.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
            if arns is None:
                case.fail(backend, f"inbox {name}: statement not limited by aws:SourceArn")
                continue
            arns = arns if isinstance(arns, list) else [arns]
            if sorted(json.dumps(a, sort_keys=True) for a in arns) == expected:
                ok = True
            else:
                case.fail(backend, f"inbox {name}: SourceArn {arns} != senders {expected}")
        if not ok:
            case.fail(backend, f"inbox {name}: no policy statement for its senders")


def check_stores(case, backend, template, target_ok):
    """One retained dynamo-es table per context with aggregates, and its pipe."""
    tables = of_type(template, "AWS::DynamoDB::Table")
    pipes = of_type(template, "AWS::Pipes::Pipe")
    by_context = {}
    for logical, table in tables.items():
        by_context.setdefault(context_tag(table), []).append(logical)
        props = table["Properties"]
        keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        attrs = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        if keys != {"AggregateTypeAndId": "HASH", "AggregateIdSequence": "RANGE"}:
            case.fail(backend, f"table {logical}: key schema {keys} is not dynamo-es's")
        if attrs != {"AggregateTypeAndId": "S", "AggregateIdSequence": "N"}:
            case.fail(backend, f"table {logical}: attribute types {attrs}")
        if props.get("StreamSpecification", {}).get("StreamViewType") != "NEW_IMAGE":
            case.fail(backend, f"table {logical}: stream must be NEW_IMAGE")
        if table.get("DeletionPolicy") != "Retain" or table.get("UpdateReplacePolicy") != "Retain":
            case.fail(backend, f"table {logical}: not retained")
        feeding = [p for p in pipes.values() if get_att(p["Properties"]["Source"], "StreamArn") == logical]
        if len(feeding) != 1:
            case.fail(backend, f"table {logical}: {len(feeding)} pipes from its stream, expected 1")
        else:
            target_ok(context_tag(table), feeding[0]["Properties"])
    want = sorted(c["name"] for c in case.expected["contexts"] if c["stores_events"])
    got = sorted(k for k, v in by_context.items() if k is not None and len(v) == 1)
    if got != want or len(tables) != len(want):
        case.fail(backend, f"event stores for {got}, expected one each for {want}")
    if len(pipes) != len(want):
        case.fail(backend, f"{len(pipes)} pipes for {len(want)} event stores")


# ---------------------------------------------------------------------------
# Safe by default

DLQ_RETENTION = 14 * 24 * 3600
MAX_RECEIVE_COUNT = 10
# Checks that demand a customer-managed key: skipped (with a reason) only when
# the templates use AWS-managed keys.
CMK_CHECKS = {
    "AWS::SQS::Queue": "CKV_AWS_27",
    "AWS::DynamoDB::Table": "CKV_AWS_119",
}
STREAM_READ = sorted(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"])


def statements(value):
    """Every IAM statement anywhere below `value`."""
    if isinstance(value, dict):
        if "Statement" in value and isinstance(value["Statement"], list):
            yield from value["Statement"]
        for v in value.values():
            yield from statements(v)
    elif isinstance(value, list):
        for v in value:
            yield from statements(v)


def has_wildcard(value):
    if isinstance(value, str):
        return "*" in value
    if isinstance(value, dict):
        return any(has_wildcard(v) for v in value.values())
    if isinstance(value, list):
        return any(has_wildcard(v) for v in value)
    return False


def as_list(value):
    return value if isinstance(value, list) else [value]


def canonical(statement):
    st = dict(statement)
    st["Action"] = sorted(as_list(st["Action"]))
    return json.dumps(st, sort_keys=True)


def check_safety(case, backend, template):
    resources = template["Resources"]
    key = case.kms_key
    key_arn = key if key and ":key/" in key else None

    for st in statements(template):
        for field in ("Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal"):
            if field in st and has_wildcard(st[field]):
                case.fail(backend, f"wildcard in {field}: {st}")
        if any(f in st for f in ("NotAction", "NotResource", "NotPrincipal")) or st.get("Effect") != "Allow":
            case.fail(backend, f"statements only allow, by name: {st}")

    # checkov skips: only the customer-managed-key checks, only without a key.
    for logical, res in resources.items():
        skips = res.get("Metadata", {}).get("checkov", {}).get("skip", [])
        for skip in skips:
            if key is not None:
                case.fail(backend, f"{logical}: skips {skip.get('id')} although a customer-managed key is set")
            elif skip.get("id") != CMK_CHECKS.get(res["Type"]) or len(skip.get("comment", "")) < 40:
                case.fail(backend, f"{logical}: unexpected or unexplained checkov skip {skip}")
        if key is None and res["Type"] in CMK_CHECKS and [s.get("id") for s in skips] != [CMK_CHECKS[res["Type"]]]:
            case.fail(backend, f"{logical}: must skip {CMK_CHECKS[res['Type']]} (AWS-managed key) with a reason")

    # Tables: the event store is the source of truth.
    for logical, table in of_type(template, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        if table.get("DeletionPolicy") != "Retain" or table.get("UpdateReplacePolicy") != "Retain":
            case.fail(backend, f"table {logical}: not retained on deletion and replacement")
        if props.get("DeletionProtectionEnabled") is not True:
            case.fail(backend, f"table {logical}: deletion protection off")
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True:
            case.fail(backend, f"table {logical}: point-in-time recovery off")
        if props.get("StreamSpecification", {}).get("StreamViewType") != "NEW_IMAGE":
            case.fail(backend, f"table {logical}: stream is not NEW_IMAGE")
        want = {"SSEEnabled": True} if key is None else {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
        if props.get("SSESpecification") != want:
            case.fail(backend, f"table {logical}: encryption {props.get('SSESpecification')}, expected {want}")

    # Queues: encrypted; dead-letter queues kept 14 days, fed only by their inbox.
    queues = of_type(template, "AWS::SQS::Queue")
    dlqs = {}
    for logical, queue in queues.items():
        props = queue["Properties"]
        if key is None:
            if props.get("SqsManagedSseEnabled") is not True or "KmsMasterKeyId" in props:
                case.fail(backend, f"queue {logical}: not encrypted with SQS-managed keys")
        elif props.get("KmsMasterKeyId") != key or "SqsManagedSseEnabled" in props:
            case.fail(backend, f"queue {logical}: not encrypted with the customer-managed key")
        redrive = props.get("RedrivePolicy")
        if redrive:
            count = redrive.get("maxReceiveCount")
            if not (isinstance(count, int) and 1 <= count <= MAX_RECEIVE_COUNT):
                case.fail(backend, f"queue {logical}: maxReceiveCount {count!r} not within 1..{MAX_RECEIVE_COUNT}")
            dlqs[get_att(redrive.get("deadLetterTargetArn"), "Arn")] = props["QueueName"]
    for dlq, inbox in dlqs.items():
        props = queues.get(dlq, {}).get("Properties", {})
        if props.get("MessageRetentionPeriod") != DLQ_RETENTION:
            case.fail(backend, f"dead-letter queue {dlq}: retention {props.get('MessageRetentionPeriod')} != 14 days")
        allow = props.get("RedriveAllowPolicy", {})
        sources = [json.dumps(a) for a in allow.get("sourceQueueArns", [])]
        if allow.get("redrivePermission") != "byQueue" or len(sources) != 1 or f":{inbox}\"" not in sources[0]:
            case.fail(backend, f"dead-letter queue {dlq}: redrive not limited to its inbox {inbox}: {allow}")

    # One alarm per dead-letter queue, when it holds any message.
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched = Counter()
    for logical, alarm in alarms.items():
        props = alarm["Properties"]
        dims = props.get("Dimensions", [])
        dlq = get_att(dims[0].get("Value"), "QueueName") if len(dims) == 1 and dims[0].get("Name") == "QueueName" else None
        ok = (
            dlq in dlqs
            and props.get("Namespace") == "AWS/SQS"
            and props.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and props.get("ComparisonOperator") == "GreaterThanThreshold"
            and props.get("Threshold") == 0
            and props.get("Statistic") == "Maximum"
            and props.get("TreatMissingData") == "notBreaching"
            and isinstance(props.get("EvaluationPeriods"), int) and props["EvaluationPeriods"] >= 1
            and isinstance(props.get("Period"), int) and 60 <= props["Period"] <= 3600
            and props.get("AlarmDescription")
        )
        if not ok:
            case.fail(backend, f"alarm {logical} does not watch a dead-letter queue for any message: {props}")
            continue
        if context_tag(alarm) != context_tag(queues[dlq]):
            case.fail(backend, f"alarm {logical}: context tag differs from its queue's")
        watched[dlq] += 1
    for dlq in dlqs:
        if watched[dlq] != 1:
            case.fail(backend, f"dead-letter queue {dlq}: {watched[dlq]} alarms, expected 1")

    # Topics: encrypted.
    for logical, topic in of_type(template, "AWS::SNS::Topic").items():
        want = key or "alias/aws/sns"
        if topic["Properties"].get("KmsMasterKeyId") != want:
            case.fail(backend, f"topic {logical}: KmsMasterKeyId {topic['Properties'].get('KmsMasterKeyId')!r} != {want!r}")

    # The bus and its archive: AWS owned key, or the customer-managed key.
    for ty in ("AWS::Events::EventBus", "AWS::Events::Archive"):
        for logical, res in of_type(template, ty).items():
            if res["Properties"].get("KmsKeyIdentifier") != key:
                case.fail(backend, f"{logical}: KmsKeyIdentifier {res['Properties'].get('KmsKeyIdentifier')!r} != {key!r}")

    # Queue policies: one service, only from the senders (SourceArn).
    for logical, policy in of_type(template, "AWS::SQS::QueuePolicy").items():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            principal = st.get("Principal")
            if not (isinstance(principal, dict) and list(principal) == ["Service"]
                    and principal["Service"] in ("events.amazonaws.com", "sns.amazonaws.com")):
                case.fail(backend, f"queue policy {logical}: principal {principal} is not EventBridge or SNS")
            arns = st.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
            if not arns:
                case.fail(backend, f"queue policy {logical}: statement without an aws:SourceArn condition")
            if st.get("Action") != "sqs:SendMessage":
                case.fail(backend, f"queue policy {logical}: allows {st.get('Action')}, not just sqs:SendMessage")

    # Roles: the pipes' exact permissions; the envelope builders' none.
    pipes = of_type(template, "AWS::Pipes::Pipe")
    roles = of_type(template, "AWS::IAM::Role")
    machines = of_type(template, "AWS::StepFunctions::StateMachine")
    pipe_roles = set()
    for logical, pipe in pipes.items():
        props = pipe["Properties"]
        role = get_att(props.get("RoleArn"), "Arn")
        pipe_roles.add(role)
        if role not in roles:
            case.fail(backend, f"pipe {logical}: its role is not a role of the template")
            continue
        table = get_att(props["Source"], "StreamArn")
        target = props["Target"]
        action = "events:PutEvents" if get_att(target, "Arn") else "sns:Publish"
        want = [
            {"Effect": "Allow", "Action": STREAM_READ, "Resource": {"Fn::GetAtt": [table, "StreamArn"]}},
            {"Effect": "Allow", "Action": ["states:StartSyncExecution"], "Resource": props.get("Enrichment")},
            {"Effect": "Allow", "Action": [action], "Resource": target},
        ]
        if key_arn:
            kms = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if action == "sns:Publish" else [])
            want.append({"Effect": "Allow", "Action": sorted(kms), "Resource": key_arn})
        role_props = roles[role]["Properties"]
        got = [canonical(st) for p in role_props.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]
        if sorted(got) != sorted(canonical(st) for st in want):
            case.fail(backend, f"pipe role {role}: permissions {got} are not exactly {want}")
        if "ManagedPolicyArns" in role_props:
            case.fail(backend, f"pipe role {role}: managed policies grant more")
        trust = role_props["AssumeRolePolicyDocument"]["Statement"]
        if [(t.get("Principal"), t.get("Action")) for t in trust] != [({"Service": "pipes.amazonaws.com"}, "sts:AssumeRole")] \
                or "aws:SourceAccount" not in json.dumps(trust):
            case.fail(backend, f"pipe role {role}: trust is not pipes.amazonaws.com of this account")
        if ref(props.get("Enrichment")) not in machines:
            case.fail(backend, f"pipe {logical}: enrichment is not a state machine of the template")
    for logical, machine in machines.items():
        role = get_att(machine["Properties"].get("RoleArn"), "Arn")
        role_props = roles.get(role, {}).get("Properties", {})
        if role_props.get("Policies") or role_props.get("ManagedPolicyArns") or role in pipe_roles:
            case.fail(backend, f"state machine {logical}: its role {role} may do something; it calls no service")
    for logical in set(roles) - pipe_roles - {get_att(m["Properties"].get("RoleArn"), "Arn") for m in machines.values()}:
        case.fail(backend, f"role {logical} belongs to neither a pipe nor an envelope builder")


# ---------------------------------------------------------------------------
# Pipes: DynamoDB stream -> filter -> JSONata envelope builder -> target

ENVELOPES_JS = Path(__file__).with_name("envelopes.js")


def b64(value):
    return base64.b64encode(json.dumps(value).encode("utf-8")).decode("ascii")


def stream_record(event, n, name="INSERT"):
    """The stream record of one event as dynamo-es stores it (payload: the
    aggregate's event enum, externally tagged)."""
    aggregate_id = f"{event['type']}-{n}"
    return {
        "eventID": f"record-{n}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": 1767225600,
            "Keys": {
                "AggregateTypeAndId": {"S": f"{event['aggregate']}:{aggregate_id}"},
                "AggregateIdSequence": {"N": "1"},
            },
            "NewImage": {
                "AggregateTypeAndId": {"S": f"{event['aggregate']}:{aggregate_id}"},
                "AggregateIdSequence": {"N": "1"},
                "AggregateType": {"S": event["aggregate"]},
                "AggregateId": {"S": aggregate_id},
                "EventVersion": {"S": str(event["version"])},
                "EventType": {"S": event["type"]},
                "Payload": {"B": b64({event["type"]: {"sample": n}})},
                "Metadata": {"B": b64({})},
            },
            "SequenceNumber": str(n),
            "StreamViewType": "NEW_IMAGE",
        },
    }


def evaluate_jsonata(jobs):
    """Results of [{"expression", "input"}] in the JSONata engine."""
    result = subprocess.run(
        ["node", str(ENVELOPES_JS)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return json.loads(result.stdout)


def json_path(value, path):
    """`$.a.b` of value (the dynamic paths pipes' target parameters use)."""
    for key in path[2:].split(".") if path != "$" else []:
        value = value[key]
    return value


def simulate_pipes(case, backend, template):
    """[(pipe target, output, event)] for every event an aggregate stores."""
    pipes = of_type(template, "AWS::Pipes::Pipe")
    tables = of_type(template, "AWS::DynamoDB::Table")
    jobs, owners = [], []
    for logical, pipe in sorted(pipes.items()):
        props = pipe["Properties"]
        context = context_tag(tables.get(get_att(props["Source"], "StreamArn"), {"Properties": {}}))
        stored = [(n, e) for n, e in enumerate(case.expected["events"]) if e["context"] == context and e["aggregate"]]
        # The filter lets appended events through, not updates or deletions.
        for f in props.get("SourceParameters", {}).get("FilterCriteria", {}).get("Filters", []):
            pattern = EventPatternCompiler().compile_event_pattern(f["Pattern"])
            engine = EventRuleEngine()
            for n, e in stored[:1]:
                if not engine.evaluate_pattern_on_event(pattern, stream_record(e, n)):
                    case.fail(backend, f"pipe {logical}: filter drops appended events")
                if engine.evaluate_pattern_on_event(pattern, stream_record(e, n, "REMOVE")):
                    case.fail(backend, f"pipe {logical}: filter lets deletions through")
        machine = template["Resources"].get(ref(props.get("Enrichment")), {})
        definition = machine.get("Properties", {}).get("Definition", {})
        if definition.get("QueryLanguage") != "JSONata":
            case.fail(backend, f"pipe {logical}: enrichment is not a JSONata state machine")
            continue
        state = definition["States"][definition["StartAt"]]
        if state.get("Type") != "Pass" or not state.get("End"):
            case.fail(backend, f"pipe {logical}: the envelope builder must be one Pass state")
            continue
        for i in range(0, len(stored), 10):  # the pipe's batch size
            batch = stored[i : i + 10]
            jobs.append({"expression": state["Output"], "input": [stream_record(e, n) for n, e in batch]})
            owners.append((props, batch))
    if not jobs:
        return []
    out = []
    for (props, batch), result in zip(owners, evaluate_jsonata(jobs)):
        if not isinstance(result, list) or len(result) != len(batch):
            case.fail(backend, f"envelope builder returned {result!r} for a batch of {len(batch)}")
            continue
        out.extend((props, item, event, n) for item, (n, event) in zip(result, batch))
    return out


# ---------------------------------------------------------------------------
# EventBridge


def check_eventbridge(case):
    backend = "eventbridge"
    template = load_yaml(case.template(backend))
    check_safety(case, backend, template)
    buses = of_type(template, "AWS::Events::EventBus")
    if len(buses) != 1:
        case.fail(backend, f"{len(buses)} event buses, expected 1")
        return
    bus = next(iter(buses))
    archives = of_type(template, "AWS::Events::Archive")
    if [get_att(a["Properties"].get("SourceArn"), "Arn") for a in archives.values()] != [bus]:
        case.fail(backend, "expected one archive of the bus")
    inboxes = check_queues(case, backend, template)
    by_logical = {v: k for k, v in inboxes.items()}
    rules = of_type(template, "AWS::Events::Rule")
    compiler, engine = EventPatternCompiler(), EventRuleEngine()
    compiled = {}
    for logical, rule in rules.items():
        props = rule["Properties"]
        bus_ref = props.get("EventBusName")
        if get_att(bus_ref, "Name") != bus and ref(bus_ref) != bus:
            case.fail(backend, f"rule {logical} is not on the bus")
        pattern = props["EventPattern"]
        size = len(json.dumps(pattern, separators=(",", ":")))
        if size > MAX_PATTERN:
            case.fail(backend, f"rule {logical}: pattern of {size} characters > {MAX_PATTERN}")
        try:
            compiled[logical] = compiler.compile_event_pattern(json.dumps(pattern))
        except Exception as e:  # noqa: BLE001 - report what AWS's rules say
            case.fail(backend, f"rule {logical}: invalid event pattern: {e}")
            continue
        if set(pattern) != {"source", "detail-type"}:
            case.fail(backend, f"rule {logical}: pattern keys {sorted(pattern)}")
        for target in props.get("Targets", []):
            if get_att(target["Arn"], "Arn") not in by_logical:
                case.fail(backend, f"rule {logical}: target is not an inbox")

    # Every event of the model reaches exactly its consumers' inboxes, once each.
    for n, event in enumerate(case.expected["events"]):
        envelope = eventbridge_envelope(event, n)
        got = []
        for logical, pattern in compiled.items():
            if engine.evaluate_pattern_on_event(pattern, json.dumps(envelope)):
                for target in rules[logical]["Properties"]["Targets"]:
                    got.append(by_logical.get(get_att(target["Arn"], "Arn")))
        want = case.expected_inboxes(event["source"], event["type"])
        if sorted(got, key=str) != want:
            case.fail(backend, f"{event['source']} {event['type']}: matched {sorted(got, key=str)}, expected {want}")

    def senders_of(queue):
        return [
            {"Fn::GetAtt": [logical, "Arn"]}
            for logical, rule in rules.items()
            if any(get_att(t["Arn"], "Arn") == queue for t in rule["Properties"]["Targets"])
        ]

    check_policies(case, backend, template, inboxes, "events.amazonaws.com", senders_of)
    sources = {c["name"]: None for c in case.expected["contexts"]}
    for event in case.expected["events"]:
        sources[event["context"]] = event["source"]

    def target_ok(context, pipe):
        if get_att(pipe.get("Target"), "Arn") != bus:
            case.fail(backend, f"pipe of {context} does not target the bus")
        params = pipe.get("TargetParameters", {}).get("EventBridgeEventBusParameters", {})
        if sources.get(context) is not None and params.get("Source") != sources[context]:
            case.fail(backend, f"pipe of {context}: Source {params.get('Source')!r} != {sources[context]!r}")

    check_stores(case, backend, template, target_ok)

    registries = of_type(template, "AWS::EventSchemas::Registry")
    schemas = of_type(template, "AWS::EventSchemas::Schema")
    if len(registries) != 1:
        case.fail(backend, f"{len(registries)} schema registries, expected 1")
    names = Counter()
    for logical, schema in schemas.items():
        props = schema["Properties"]
        if props.get("Type") != "JSONSchemaDraft4":
            case.fail(backend, f"schema {logical}: type {props.get('Type')}")
        try:
            content = json.loads(props["Content"])
            jsonschema.Draft4Validator.check_schema(content)
        except Exception as e:  # noqa: BLE001
            case.fail(backend, f"schema {logical}: not a valid draft-04 schema: {e}")
        names[props["SchemaName"]] += 1
    want = Counter(f"{e['source']}@{e['type']}" for e in case.expected["events"])
    if names != want:
        case.fail(backend, f"schemas {sorted(names)} != events {sorted(want)}")
    outputs = template.get("Outputs", {})
    values = [json.dumps(o["Value"], sort_keys=True) for o in outputs.values()]
    for logical in [bus, *inboxes.values()]:
        if not any(f'"{logical}"' in v for v in values):
            case.fail(backend, f"no output for {logical}")

    moto_eventbridge(case, template, bus, inboxes)


def without(template, types):
    """A copy of the template without resources of `types` (moto gaps)."""
    t = copy.deepcopy(template)
    gone = {k for k, v in t["Resources"].items() if v["Type"] in types}
    t["Resources"] = {k: v for k, v in t["Resources"].items() if k not in gone}
    # Outputs of removed resources go with them.
    t["Outputs"] = {
        k: v for k, v in t.get("Outputs", {}).items()
        if not any(f'"{g}"' in json.dumps(v["Value"]) for g in gone)
    }
    return t


def replace_refs(value, logical, replacement):
    if isinstance(value, dict):
        if value == {"Ref": logical}:
            return replacement
        return {k: replace_refs(v, logical, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_refs(v, logical, replacement) for v in value]
    return value


def drain(sqs, url):
    """Every message in the queue."""
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def deploy(case, backend, template):
    """Deploys with moto's CloudFormation; returns logical id -> physical id."""
    cf = boto3.client("cloudformation", region_name=REGION)
    stack = f"storm-{backend}"
    # moto names a state machine `<stack>-<logical id>-<suffix>` without cutting it
    # to the 80 characters Step Functions allows (CloudFormation does cut); name
    # long ones after their logical id, as tests/tools/stacks/deploy_nested.py does.
    template = copy.deepcopy(template)
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and len(stack) + len(logical) + 14 > 80:
            resource["Properties"].setdefault("StateMachineName", logical[:80])
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    status = cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    if status != "CREATE_COMPLETE":
        case.fail(backend, f"moto: stack {status}")
    resources = cf.describe_stack_resources(StackName=stack)["StackResources"]
    # moto leaves the physical id of some resources (the bus, the archive) empty,
    # and the logical id of a WaitConditionHandle.
    return {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in resources
        if "LogicalResourceId" in r
    }


def received(case, backend, sqs, inboxes, key):
    """inbox -> sorted [(source, type)] read from every inbox, via `key(body)`."""
    out = {}
    for name in inboxes:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        out[name] = sorted(key(json.loads(b)) for b in drain(sqs, url))
        dlq = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
        if drain(sqs, dlq):
            case.fail(backend, f"moto: messages in the dead-letter queue of {name}")
    return out


def compare_deliveries(case, backend, got):
    want = case.expected_deliveries()
    for inbox in sorted(set(got) | set(want)):
        if got.get(inbox, []) != want.get(inbox, []):
            case.fail(backend, f"moto: {inbox} received {got.get(inbox)}, expected {want.get(inbox)}")


def eventbridge_entries(case, template, bus_name):
    """What reaches the bus: the pipes' events for stored events, and the events
    external systems put for the others. Checks the pipes' envelopes."""
    backend = "eventbridge"
    entries = []
    for props, item, event, n in simulate_pipes(case, backend, template):
        params = props.get("TargetParameters", {})
        bus_params = params.get("EventBridgeEventBusParameters", {})
        detail_type = bus_params.get("DetailType", "")
        if detail_type.startswith("$"):
            detail_type = json_path(item, detail_type)
        template_text = params.get("InputTemplate", "<$>")
        if not re.fullmatch(r"<\$(\.[A-Za-z_]+)*>", template_text):
            case.fail(backend, f"InputTemplate {template_text!r} is not a single path")
            continue
        detail = json_path(item, template_text[1:-1])
        want_meta = {"aggregate_id": f"{event['type']}-{n}", "aggregate_version": 1, "event_version": event["version"]}
        if bus_params.get("Source") != event["source"] or detail_type != event["type"]:
            case.fail(backend, f"pipe sends {bus_params.get('Source')} {detail_type} for {event['source']} {event['type']}")
        if detail != {"sample": n, "metadata": want_meta}:
            case.fail(backend, f"pipe detail {detail} != payload fields + metadata {want_meta}")
        entries.append({"Source": bus_params.get("Source"), "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus_name})
    for n, e in enumerate(case.expected["events"]):
        if not e["aggregate"]:
            entries.append({"Source": e["source"], "DetailType": e["type"], "Detail": json.dumps(sample_detail(e, n)), "EventBusName": bus_name})
    if len(entries) != len(case.expected["events"]):
        case.fail(backend, f"{len(entries)} events reach the bus, the model has {len(case.expected['events'])}")
    return entries


def moto_eventbridge(case, template, bus, inboxes):
    backend = "eventbridge"
    bus_name = template["Resources"][bus]["Properties"]["Name"]
    entries = eventbridge_entries(case, template, bus_name)
    deployable = without(template, MOTO_UNSUPPORTED | {"AWS::SQS::QueuePolicy"})
    deployable = replace_refs(deployable, bus, bus_name)
    with mock_aws():
        try:
            deploy(case, backend, deployable)
        except Exception as e:  # noqa: BLE001
            case.fail(backend, f"moto: deploy failed: {e}")
            return
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.describe_event_bus(Name=bus_name)
        for i in range(0, len(entries), 10):
            result = events.put_events(Entries=entries[i : i + 10])
            if result.get("FailedEntryCount"):
                case.fail(backend, f"moto: put_events failed: {result}")
        got = received(case, backend, sqs, inboxes, lambda b: (b["source"], b["detail-type"]))
        compare_deliveries(case, backend, got)


# ---------------------------------------------------------------------------
# SNS + SQS


def check_sns_sqs(case):
    backend = "sns-sqs"
    template = load_yaml(case.template(backend))
    check_safety(case, backend, template)
    topics = of_type(template, "AWS::SNS::Topic")
    topic_of = {}
    for logical, topic in topics.items():
        tag = context_tag(topic)
        if tag is None or tag in topic_of:
            case.fail(backend, f"topic {logical}: tag {tag!r} missing or shared")
        topic_of[tag] = logical
    publishers = sorted({e["context"] for e in case.expected["events"]})
    if sorted(k for k in topic_of if k) != publishers:
        case.fail(backend, f"topics for {sorted(topic_of, key=str)}, publishers are {publishers}")
    inboxes = check_queues(case, backend, template)
    by_logical = {v: k for k, v in inboxes.items()}
    subs = of_type(template, "AWS::SNS::Subscription")
    pairs = Counter()
    for logical, sub in subs.items():
        props = sub["Properties"]
        if props.get("Protocol") != "sqs" or props.get("RawMessageDelivery") is not True:
            case.fail(backend, f"subscription {logical}: must be sqs with raw message delivery")
        if props.get("FilterPolicyScope") != "MessageBody":
            case.fail(backend, f"subscription {logical}: filter policy scope is not MessageBody")
        try:
            FilterPolicyValidator("MessageBody", is_subscribe_call=True).validate_filter_policy(props["FilterPolicy"])
        except Exception as e:  # noqa: BLE001
            case.fail(backend, f"subscription {logical}: invalid filter policy: {e}")
        if ref(props["TopicArn"]) not in topics or get_att(props["Endpoint"], "Arn") not in by_logical:
            case.fail(backend, f"subscription {logical}: not from a topic to an inbox")
        pairs[(ref(props["TopicArn"]), get_att(props["Endpoint"], "Arn"))] += 1
    if any(n > 1 for n in pairs.values()):
        case.fail(backend, "two subscriptions of one queue to one topic (SNS keeps one)")

    sub_filter = SubscriptionFilter()
    for n, event in enumerate(case.expected["events"]):
        topic = topic_of.get(event["context"])
        body = json.dumps(cloudevent(event, n))
        got = sorted(
            by_logical.get(get_att(s["Properties"]["Endpoint"], "Arn"), "?")
            for s in subs.values()
            if ref(s["Properties"]["TopicArn"]) == topic
            and sub_filter.check_filter_policy_on_message_body(s["Properties"]["FilterPolicy"], body)
        )
        want = case.expected_inboxes(event["source"], event["type"])
        if got != want:
            case.fail(backend, f"{event['source']} {event['type']}: filters matched {got}, expected {want}")

    def senders_of(queue):
        return [
            s["Properties"]["TopicArn"]
            for s in subs.values()
            if get_att(s["Properties"]["Endpoint"], "Arn") == queue
        ]

    check_policies(case, backend, template, inboxes, "sns.amazonaws.com", senders_of)

    def target_ok(context, pipe):
        if ref(pipe.get("Target")) != topic_of.get(context):
            case.fail(backend, f"pipe of {context} does not target its topic")

    check_stores(case, backend, template, target_ok)
    moto_sns_sqs(case, template, topic_of, inboxes, subs)


def sns_messages(case, template, topic_of):
    """(topic logical id, message) for every event: what the pipes publish for
    stored events, the CloudEvents external systems send for the others."""
    backend = "sns-sqs"
    messages = []
    for props, item, event, n in simulate_pipes(case, backend, template):
        if "InputTemplate" in props.get("TargetParameters", {}):
            case.fail(backend, "the SNS pipes publish the builder's envelope as is")
        want = {
            "specversion": "1.0",
            "source": event["source"],
            "type": event["type"],
            "subject": f"{event['type']}-{n}",
            "datacontenttype": "application/json",
            "dataschema": event["dataschema"],
            "data": {"sample": n},
        }
        got = {k: item.get(k) for k in want} if isinstance(item, dict) else item
        if got != want:
            case.fail(backend, f"pipe envelope {item} does not carry {want}")
        elif not item.get("id") or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", str(item.get("time"))):
            case.fail(backend, f"pipe envelope {item}: id or time missing")
        if ref(props.get("Target")) != topic_of.get(event["context"]):
            case.fail(backend, f"pipe of {event['context']} does not publish to its topic")
        messages.append((ref(props.get("Target")), json.dumps(item)))
    for n, e in enumerate(case.expected["events"]):
        if not e["aggregate"]:
            messages.append((topic_of.get(e["context"]), json.dumps(cloudevent(e, n))))
    if len(messages) != len(case.expected["events"]):
        case.fail(backend, f"{len(messages)} events reach the topics, the model has {len(case.expected['events'])}")
    return messages


def moto_sns_sqs(case, template, topic_of, inboxes, subs):
    backend = "sns-sqs"
    messages = sns_messages(case, template, topic_of)
    skipped = MOTO_UNSUPPORTED | {"AWS::SNS::Subscription", "AWS::SQS::QueuePolicy"}
    with mock_aws():
        try:
            physical = deploy(case, backend, without(template, skipped))
        except Exception as e:  # noqa: BLE001
            case.fail(backend, f"moto: deploy failed: {e}")
            return
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        for logical, sub in subs.items():
            props = sub["Properties"]
            queue_url = physical[get_att(props["Endpoint"], "Arn")]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(
                TopicArn=physical[ref(props["TopicArn"])],
                Protocol=props["Protocol"],
                Endpoint=queue_arn,
                Attributes={
                    "RawMessageDelivery": "true" if props["RawMessageDelivery"] else "false",
                    "FilterPolicyScope": props["FilterPolicyScope"],
                    "FilterPolicy": json.dumps(props["FilterPolicy"]),
                },
            )
        for topic, message in messages:
            sns.publish(TopicArn=physical[topic], Message=message)
        got = received(case, backend, sqs, inboxes, lambda b: (b["source"], b["type"]))
        compare_deliveries(case, backend, got)


# ---------------------------------------------------------------------------
# Kafka


def check_kafka(case):
    backend = "kafka"
    root = case.dir / "routing" / "kafka"
    topics = {}
    names = set()
    for path in sorted((root / "topics").glob("*.yaml")):
        m = load_yaml(path)
        where = path.name
        if m.get("apiVersion") != "kafka.strimzi.io/v1beta2" or m.get("kind") != "KafkaTopic":
            case.fail(backend, f"{where}: not a Strimzi v1beta2 KafkaTopic")
        meta, spec = m.get("metadata", {}), m.get("spec", {})
        name = meta.get("name", "")
        if not (K8S_NAME.match(name) and len(name) <= 63):
            case.fail(backend, f"{where}: metadata.name {name!r} is not an RFC 1123 label")
        if name in names:
            case.fail(backend, f"{where}: metadata.name {name!r} repeated")
        names.add(name)
        cluster = meta.get("labels", {}).get("strimzi.io/cluster")
        if not isinstance(cluster, str) or not K8S_NAME.match(cluster):
            case.fail(backend, f"{where}: label strimzi.io/cluster missing or invalid")
        topic = spec.get("topicName", "")
        if not KAFKA_TOPIC.match(topic) or topic in (".", ".."):
            case.fail(backend, f"{where}: {topic!r} is not a valid Kafka topic name")
        for key in ("partitions", "replicas"):
            if not (isinstance(spec.get(key), int) and spec[key] >= 1):
                case.fail(backend, f"{where}: {key} must be an integer >= 1")
        if topic in topics:
            case.fail(backend, f"{where}: topic {topic} declared twice")
        topics[topic] = where
    want_topics = sorted({e["topic"] for e in case.expected["events"]})
    if sorted(topics) != want_topics:
        case.fail(backend, f"topics {sorted(topics)}, publishing contexts have {want_topics}")
    table = load_yaml(root / "routing.yaml") or {}
    got = {}
    for group in table.get("groups", []):
        if group["group"] in got:
            case.fail(backend, f"routing.yaml: group {group['group']} listed twice")
        reads = {}
        for t in group.get("topics", []):
            if t["topic"] not in topics:
                case.fail(backend, f"routing.yaml: group {group['group']} reads undeclared topic {t['topic']}")
            if t["topic"] in reads or len(set(t["types"])) != len(t["types"]):
                case.fail(backend, f"routing.yaml: repeats in group {group['group']}")
            reads[t["topic"]] = sorted(t["types"])
        got[group["group"]] = reads
    want = {}
    for s in case.expected["subscriptions"]:
        want.setdefault(s["group"], {}).setdefault(s["topic"], []).append(s["type"])
    want = {g: {t: sorted(v) for t, v in by.items()} for g, by in want.items()}
    if got != want:
        case.fail(backend, f"routing.yaml {got} != subscriptions {want}")


# ---------------------------------------------------------------------------


def cfn_lint(templates):
    """Starts cfn-lint on every template (it runs while the other checks do)."""
    cfn = Path(sys.executable).parent / "cfn-lint"
    return subprocess.Popen(
        [str(cfn), "--format", "parseable", "--", *map(str, templates)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cfn_lint_failures(process):
    stdout, stderr = process.communicate()
    if process.returncode != 0 or stdout.strip():
        return [f"cfn-lint (exit {process.returncode}):\n{stdout}{stderr}"]
    return []


def checkov(templates):
    """Starts checkov on every template (STORM_CHECKOV), or None without it."""
    exe = os.environ.get("STORM_CHECKOV")
    if not exe:
        return None
    args = [exe, "--skip-download", "--framework", "cloudformation", "--compact", "--quiet", "--output", "json"]
    for t in templates:
        args += ["--file", str(t)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkov_failures(process, templates):
    if process is None:
        print("*** checkov SKIPPED: STORM_CHECKOV is not set ***")
        return []
    stdout, stderr = process.communicate()
    try:
        reports = json.loads(stdout)
    except json.JSONDecodeError:
        return [f"checkov (exit {process.returncode}) printed no report:\n{stdout}{stderr}"]
    reports = reports if isinstance(reports, list) else [reports]
    failures = []
    resources = 0
    for report in reports:
        summary = report.get("summary", {})
        resources += summary.get("resource_count", 0)
        if summary.get("parsing_errors"):
            failures.append(f"checkov: {summary['parsing_errors']} templates it could not parse")
        for f in report.get("results", {}).get("failed_checks", []):
            failures.append(f"checkov {f['check_id']} ({f['check_name']}) on {f['resource']} in {f['file_path']}")
    if resources == 0 and templates:
        failures.append(f"checkov scanned no resource:\n{stdout}{stderr}")
    if process.returncode != 0 and not failures:
        failures.append(f"checkov exit {process.returncode}:\n{stderr}")
    return failures


def main(manifest):
    with open(manifest, encoding="utf-8") as f:
        cases = [Case(c) for c in json.load(f)["cases"]]
    templates = [c.template(b) for c in cases for b in ("eventbridge", "sns-sqs")]
    started = time.monotonic()
    lint = cfn_lint(templates)
    scan = checkov(templates)
    failures = []
    events = subscriptions = 0
    for case in cases:
        for check in (check_eventbridge, check_sns_sqs, check_kafka):
            try:
                check(case)
            except Exception as e:  # noqa: BLE001 - a crash is a failure of this case
                case.fail(check.__name__, f"{type(e).__name__}: {e}")
        failures.extend(case.failures)
        events += len(case.expected["events"])
        subscriptions += len(case.expected["subscriptions"])
    checked = time.monotonic()
    failures = cfn_lint_failures(lint) + checkov_failures(scan, templates) + failures
    print(
        f"{len(cases)} models checked: {len(templates)} templates linted"
        f"{' and scanned by checkov' if scan else ''}, "
        f"{events} events published per AWS backend, {subscriptions} subscriptions "
        f"(other checks {checked - started:.0f}s, cfn-lint done after {time.monotonic() - started:.0f}s)"
    )
    if failures:
        print(f"{len(failures)} failures:")
        for f in failures:
            print(f"- {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
