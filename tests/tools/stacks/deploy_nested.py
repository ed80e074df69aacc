#!/usr/bin/env python3
"""Checks storm's nested CloudFormation stacks with the real tools; driven by
tests/stacks.rs.

Usage: deploy_nested.py MANIFEST.json

The manifest lists cases: a directory holding `template.yaml` and, when it was
split, `stacks/*.yaml`, and `expected`: how many resources of some types the
model calls for (queues, rules, topics, subscriptions, tables, state machines,
schemas). Per case:

1. cfn-lint reports nothing on any file (one run for all cases), and checkov
   (STORM_CHECKOV, run as tests/tools/routing/check_routing.py runs it) reports
   no failed check and no parsing error on any file: the split keeps storm's
   safe defaults.
2. The files together hold the expected number of resources of each type.
3. moto, end to end, the way `aws cloudformation package` + `deploy` work: every
   nested template is uploaded to an S3 bucket, the root's `TemplateURL`s are
   rewritten to the S3 URLs, the root stack is created, and every nested stack
   must reach CREATE_COMPLETE. Then the deployed queues, topics, tables, state
   machines and the bus's rules are counted against `expected`, and every rule
   must target a deployed queue. moto's CloudFormation skips
   `AWS::SNS::Subscription`, so each subscription is made through the API from
   its resource, with `TopicArn` and `Endpoint` resolved in its deployed nested
   stack (its parameters as the root passed them, its own queues): each must name
   a deployed topic and queue, which proves the wiring between stacks. moto gaps
   worked around here, never in the output: `AWS::SQS::QueuePolicy` (skipped by
   moto), `AWS::Pipes::Pipe`,
   `AWS::EventSchemas::*` and `AWS::CloudWatch::Alarm` are not supported and are
   removed from the copy deployed, with the outputs and stack parameters that
   refer to them (and a nested stack left empty); `Ref` of an
   `AWS::Events::EventBus` is replaced by the bus name; state machines are named
   after their logical ids, as moto's generated names break the length limit
   inside nested stacks; moto cannot read a nested stack's outputs with
   `Fn::GetAtt` and is taught to here.

Prints `N cases checked` and exits 0 when everything holds; lists every failure
otherwise.
"""

import copy
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.cloudformation.models import Stack as MotoStack  # noqa: E402

# checkov is run exactly as the routing harness runs it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "routing"))
import check_routing  # noqa: E402


def _stack_output(self, attribute):
    """moto 5 lists a nested stack's outputs but cannot read them with
    `Fn::GetAtt [Stack, Outputs.Name]` (its `Stack` has no `get_cfn_attribute`):
    read them as CloudFormation does, in this harness only."""
    if attribute.startswith("Outputs."):
        for output in self.output_map.values():
            if output and output.key == attribute[len("Outputs."):]:
                return output.value
    raise NotImplementedError(f"{attribute} of {{0}}")


if not hasattr(MotoStack, "get_cfn_attribute"):
    MotoStack.get_cfn_attribute = _stack_output

REGION = "us-east-1"
BUCKET = "storm-nested-stacks"
UNSUPPORTED = {
    # skipped by moto's CloudFormation (with a warning): policies are never
    # enforced by moto, and their structure is checked by tests/routing.rs.
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Pipes::Pipe",
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",
}
STACK = "AWS::CloudFormation::Stack"

failures = []


def fail(case, message):
    failures.append(f"{case}: {message}")


def refs(value):
    """Names a tree refers to (Ref, Fn::GetAtt, ${...} of Fn::Sub)."""
    out = set()
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value:
            out.add(value["Ref"])
        elif len(value) == 1 and "Fn::GetAtt" in value:
            out.add(value["Fn::GetAtt"][0])
        elif len(value) == 1 and "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text = sub if isinstance(sub, str) else sub[0]
            for piece in text.split("${")[1:]:
                out.add(piece.split("}")[0].split(".")[0])
            if not isinstance(sub, str):
                out |= refs(sub[1])
        else:
            for v in value.values():
                out |= refs(v)
    elif isinstance(value, list):
        for v in value:
            out |= refs(v)
    return out


def load(case_dir):
    files = {}
    for path in sorted(case_dir.rglob("*.yaml")):
        files[path.relative_to(case_dir).as_posix()] = yaml.safe_load(path.read_text())
    return files


def stacks_of(template):
    return {k: r for k, r in template["Resources"].items() if r["Type"] == STACK}


def deployable(files):
    """A copy without what moto cannot deploy, and without what refers to it."""
    files = copy.deepcopy(files)
    removed = {f: set() for f in files}
    for f, t in files.items():
        for k in [k for k, r in t["Resources"].items() if r["Type"] in UNSUPPORTED]:
            del t["Resources"][k]
            removed[f].add(k)
    changed = True
    while changed:
        changed = False
        root = files["template.yaml"]
        for f, t in files.items():
            gone = removed[f]
            # Outputs about removed resources go, and so do stack parameters
            # that read them; a nested stack left without resources goes.
            for k in [k for k, o in t.get("Outputs", {}).items() if refs(o) & gone]:
                del t["Outputs"][k]
                changed = True
            for k, r in list(t["Resources"].items()):
                if refs(r.get("Properties", {})) & gone:
                    del t["Resources"][k]
                    gone.add(k)
                    changed = True
        for sid, stack in list(stacks_of(root).items()):
            url = stack["Properties"]["TemplateURL"]
            child = files.get(url)
            if child is None:
                continue
            outputs = set(child.get("Outputs", {}))
            params = stack["Properties"].get("Parameters", {})
            for p, v in list(params.items()):
                if isinstance(v, dict) and "Fn::GetAtt" in v:
                    target, attribute = v["Fn::GetAtt"]
                    other = root["Resources"].get(target)
                    if other and other["Type"] == STACK and attribute.startswith("Outputs."):
                        if attribute[8:] not in set(files[other["Properties"]["TemplateURL"]].get("Outputs", {})):
                            del params[p]
                            changed = True
            used = refs(child["Resources"]) | refs(child.get("Outputs", {}))
            for p in list(child.get("Parameters", {})):
                if p not in params or p not in used:
                    if p in used:
                        continue  # still used but not given: left for moto to report
                    del child["Parameters"][p]
                    params.pop(p, None)
                    changed = True
            for o in list(root.get("Outputs", {})):
                v = root["Outputs"][o]["Value"]
                if isinstance(v, dict) and "Fn::GetAtt" in v and v["Fn::GetAtt"][0] == sid:
                    if v["Fn::GetAtt"][1][8:] not in outputs:
                        del root["Outputs"][o]
                        changed = True
            if not child["Resources"]:
                del root["Resources"][sid]
                removed["template.yaml"].add(sid)
                del files[url]
                changed = True
    return files


def replace_bus_refs(files):
    """`Ref` of the bus crashes moto's CloudFormation: use the bus name."""
    for t in files.values():
        for bus, r in t["Resources"].items():
            if r["Type"] != "AWS::Events::EventBus":
                continue
            name = r["Properties"]["Name"]

            def walk(v):
                if isinstance(v, dict):
                    if v == {"Ref": bus}:
                        return name
                    return {k: walk(x) for k, x in v.items()}
                if isinstance(v, list):
                    return [walk(x) for x in v]
                return v

            for k in list(t["Resources"]):
                if k != bus:
                    t["Resources"][k] = walk(t["Resources"][k])
            if "Outputs" in t:
                t["Outputs"] = walk(t["Outputs"])
    return files


def short_names(files):
    """moto names a state machine `<stack>-<logical id>-<random>`, which breaks
    its 80-character limit within nested stacks (AWS names it `<logical
    id>-<random>`): name them after their logical id in the copy deployed."""
    for t in files.values():
        for k, r in t["Resources"].items():
            if r["Type"] == "AWS::StepFunctions::StateMachine":
                r["Properties"].setdefault("StateMachineName", k[:80])
    return files


def counts(files):
    return Counter(r["Type"] for t in files.values() for r in t["Resources"].values())


def nested(cf, stack_id):
    """Physical id -> (template path, parameters, resources) of every stack."""
    out = {}
    todo = [(stack_id, "template.yaml")]
    while todo:
        sid, path = todo.pop()
        desc = cf.describe_stacks(StackName=sid)["Stacks"][0]
        params = {p["ParameterKey"]: p.get("ParameterValue") for p in desc.get("Parameters", [])}
        resources = cf.describe_stack_resources(StackName=sid)["StackResources"]
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources if "LogicalResourceId" in r}
        outputs = {o["OutputKey"]: o.get("OutputValue") for o in desc.get("Outputs", [])}
        out[sid] = (path, desc["StackStatus"], params, physical, outputs)
        for r in resources:
            if r.get("ResourceType") == STACK:
                todo.append((r["PhysicalResourceId"], r["LogicalResourceId"]))
    return out


def deploy(name, original, expected):
    files = short_names(replace_bus_refs(deployable(original)))
    root = files["template.yaml"]
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for path, t in files.items():
            if path != "template.yaml":
                s3.put_object(Bucket=BUCKET, Key=path, Body=yaml.safe_dump(t).encode())
        url_of = {}
        for sid, stack in stacks_of(root).items():
            path = stack["Properties"]["TemplateURL"]
            url_of[sid] = path
            stack["Properties"]["TemplateURL"] = f"https://s3.amazonaws.com/{BUCKET}/{path}"
        cf = boto3.client("cloudformation", region_name=REGION)
        try:
            created = cf.create_stack(
                StackName="storm-root",
                TemplateBody=json.dumps(root),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except Exception as e:  # noqa: BLE001
            fail(name, f"moto: create_stack failed: {e}")
            return
        stacks = nested(cf, created["StackId"])
        for sid, (logical, status, *_) in stacks.items():
            if status != "CREATE_COMPLETE":
                fail(name, f"moto: stack {logical} is {status}")
        if len(stacks) != 1 + len(url_of):
            fail(name, f"moto: {len(stacks)} stacks deployed, expected {1 + len(url_of)}")
        sqs = boto3.client("sqs", region_name=REGION)
        queue_urls = sqs.list_queues(MaxResults=1000).get("QueueUrls", [])
        queue_arns = {
            sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for u in queue_urls
        }
        deployed = Counter({"AWS::SQS::Queue": len(queue_urls)})
        ddb = boto3.client("dynamodb", region_name=REGION)
        tables = []
        paginator = ddb.get_paginator("list_tables")
        for page in paginator.paginate():
            tables += page["TableNames"]
        deployed["AWS::DynamoDB::Table"] = len(tables)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machines = []
        for page in sfn.get_paginator("list_state_machines").paginate():
            machines += page["stateMachines"]
        deployed["AWS::StepFunctions::StateMachine"] = len(machines)
        sns = boto3.client("sns", region_name=REGION)
        topics = set()
        for page in sns.get_paginator("list_topics").paginate():
            topics |= {t["TopicArn"] for t in page["Topics"]}
        deployed["AWS::SNS::Topic"] = len(topics)
        events = boto3.client("events", region_name=REGION)
        buses = [r["Properties"]["Name"] for t in files.values() for r in t["Resources"].values() if r["Type"] == "AWS::Events::EventBus"]
        rules = []
        for bus in buses:
            token = None
            while True:
                kw = {"EventBusName": bus, "Limit": 100}
                if token:
                    kw["NextToken"] = token
                page = events.list_rules(**kw)
                # The archive's own rule is managed by EventBridge.
                rules += [(bus, r["Name"]) for r in page["Rules"] if not r.get("ManagedBy") and not r["Name"].startswith("Events-Archive-")]
                token = page.get("NextToken")
                if not token:
                    break
        deployed["AWS::Events::Rule"] = len(rules)
        for bus, rule in rules:
            for target in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]:
                if target["Arn"] not in queue_arns:
                    fail(name, f"moto: rule {rule} targets {target['Arn']}, not a deployed queue")
        # Subscriptions: through the API, from each resource resolved in its stack.
        made = 0
        for sid, (logical, _, params, physical, _) in stacks.items():
            path = url_of.get(logical, "template.yaml")
            for k, r in original[path]["Resources"].items():
                if r["Type"] != "AWS::SNS::Subscription":
                    continue
                props = r["Properties"]
                topic = resolve(props["TopicArn"], params, physical, stacks, sqs)
                endpoint = resolve(props["Endpoint"], params, physical, stacks, sqs)
                if topic not in topics:
                    fail(name, f"{path}: {k} subscribes to {topic}, not a deployed topic")
                    continue
                if endpoint not in queue_arns:
                    fail(name, f"{path}: {k} delivers to {endpoint}, not a deployed queue")
                    continue
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint, ReturnSubscriptionArn=True)
                made += 1
        subscriptions = []
        for page in sns.get_paginator("list_subscriptions").paginate():
            subscriptions += page["Subscriptions"]
        deployed["AWS::SNS::Subscription"] = len(subscriptions) if made else 0
        for ty, want in expected.items():
            if ty in UNSUPPORTED:
                continue  # counted in the files only
            if deployed.get(ty, 0) != want:
                fail(name, f"moto: {deployed.get(ty, 0)} {ty} deployed, the model calls for {want}")
        print(f"{name}: {len(stacks)} stacks deployed: " + ", ".join(f"{deployed[t]} {t.split('::')[-1]}" for t in sorted(expected) if t not in UNSUPPORTED))


def resolve(value, params, physical, stacks, sqs):
    """A Ref (of a parameter, or of a topic: its ARN), a GetAtt Arn of a queue or
    a GetAtt of a nested stack's output, in a deployed stack."""
    if isinstance(value, dict) and "Ref" in value:
        target = value["Ref"]
        return params[target] if target in params else physical.get(target)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        if attribute.startswith("Outputs."):
            nested_stack = stacks.get(physical.get(target))
            return nested_stack[4].get(attribute[8:]) if nested_stack else None
        url = physical.get(target)
        if attribute == "Arn" and url:
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return value


def main():
    manifest = json.loads(Path(sys.argv[1]).read_text())
    cases = manifest["cases"]
    paths = []
    for case in cases:
        case_dir = Path(case["dir"])
        paths += [str(p) for p in sorted(case_dir.rglob("*.yaml"))]
    scan = check_routing.checkov(paths)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", *paths],
        capture_output=True,
        text=True,
    )
    if lint.returncode != 0 or lint.stdout.strip():
        failures.append(f"cfn-lint:\n{lint.stdout}{lint.stderr}")
    else:
        print(f"cfn-lint: nothing to report on {len(paths)} files")
    scanned = check_routing.checkov_failures(scan, paths)
    failures.extend(scanned)
    if scan is not None and not scanned:
        print(f"checkov: no failed check on {len(paths)} files")
    for case in cases:
        name = case["name"]
        files = load(Path(case["dir"]))
        have = counts(files)
        for ty, want in case["expected"].items():
            if have.get(ty, 0) != want:
                fail(name, f"{have.get(ty, 0)} {ty} in the files, the model calls for {want}")
        deploy(name, files, case["expected"])
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"{len(cases)} cases checked")


if __name__ == "__main__":
    main()
