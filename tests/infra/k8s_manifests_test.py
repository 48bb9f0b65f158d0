#!/usr/bin/env python3
"""Renders the Kubernetes manifests (infra/k8s: the base and every overlay) with
`kubectl kustomize` and checks the rendered objects:

- every Deployment: readiness (/readyz) and liveness (/healthz) probes on a port the
  container declares, requests and limits of cpu and memory on every container (requests
  not above limits), a non-root pod (runAsNonRoot, a non-zero runAsUser), containers without
  privilege escalation, with every capability dropped and a read-only root filesystem,
  terminationGracePeriodSeconds above the EARSHOT_SHUTDOWN_GRACE its ConfigMaps set, and
  every ConfigMap it reads rendered too;
- every ScaledObject targets a Deployment that exists, with a RabbitMQ trigger (http, regex,
  sum) whose queue regex matches the work queues of the stages that binary consumes and
  none of their retry or dead-letter queues nor another stage's queues, and whose
  TriggerAuthentication exists;
- every HorizontalPodAutoscaler targets a Deployment that exists, and each Deployment has
  exactly one autoscaler;
- every PodDisruptionBudget selects the pods of a Deployment;
- the migration Job runs `earshot migrate` under the same non-root rules;
- a default-deny NetworkPolicy covers every pod;
- every Secret key the manifests read is listed in infra/k8s/secrets.example.env.

Usage: k8s_manifests_test.py --root infra/k8s [--kubectl KUBECTL]... (each kubectl given
renders every overlay; kustomize's deprecation warnings on stderr are expected).
Exit 0 when every check holds, 1 otherwise with one line per failure.
"""

import argparse
import os
import re
import subprocess
import sys

import yaml

# The queues each stage worker consumes (services/*/main.cpp; names from
# libs/queue/include/earshot/queue/topology.hpp).
STAGES_OF = {
    "earshot-sync": ["sync"],
    "earshot-stt": ["transcribe"],
    "earshot-analyze": ["analyze", "embed"],
    "earshot-notify": ["notify"],
}
ALL_STAGES = ["sync", "transcribe", "analyze", "notify", "embed"]


def quantity(text, what):
    """A Kubernetes quantity as a float (cpu in cores, memory in bytes)."""
    s = str(text)
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?", s)
    if not m:
        raise ValueError(f"{what}: not a quantity: {s!r}")
    n = float(m.group(1))
    scale = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}[m.group(2)]
    return n * scale


def duration_seconds(text):
    m = re.fullmatch(r"([0-9]+)(ms|s|m|h)", str(text))
    if not m:
        return None
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


class Checker:
    def __init__(self, label):
        self.label = label
        self.failures = []
        self.checked = 0

    def expect(self, ok, message):
        self.checked += 1
        if not ok:
            self.failures.append(f"{self.label}: {message}")
        return ok


def check_container(c, where, chk, ports_required):
    name = c.get("name", "?")
    w = f"{where} container {name}"
    res = c.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    for kind in ("cpu", "memory"):
        if chk.expect(kind in req, f"{w}: no {kind} request") and chk.expect(kind in lim, f"{w}: no {kind} limit"):
            try:
                chk.expect(quantity(req[kind], w) <= quantity(lim[kind], w),
                           f"{w}: {kind} request {req[kind]} above its limit {lim[kind]}")
            except ValueError as e:
                chk.expect(False, str(e))
    sc = c.get("securityContext") or {}
    chk.expect(sc.get("allowPrivilegeEscalation") is False, f"{w}: allowPrivilegeEscalation is not false")
    chk.expect(sc.get("readOnlyRootFilesystem") is True, f"{w}: readOnlyRootFilesystem is not true")
    chk.expect("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{w}: capabilities do not drop ALL")
    chk.expect(sc.get("privileged") is not True, f"{w}: privileged")
    if not ports_required:
        return
    declared = {}
    for p in c.get("ports") or []:
        declared[p.get("containerPort")] = p
        if "name" in p:
            declared[p["name"]] = p
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        pr = c.get(probe)
        if not chk.expect(pr is not None, f"{w}: no {probe}"):
            continue
        get = pr.get("httpGet")
        if not chk.expect(get is not None, f"{w}: {probe} is not an HTTP GET"):
            continue
        chk.expect(get.get("path") == path, f"{w}: {probe} asks {get.get('path')!r}, not {path}")
        chk.expect(get.get("port") in declared, f"{w}: {probe} port {get.get('port')!r} is not a declared port")


def check_pod_security(spec, where, chk):
    psc = spec.get("securityContext") or {}
    chk.expect(psc.get("runAsNonRoot") is True, f"{where}: pod securityContext.runAsNonRoot is not true")
    uid = psc.get("runAsUser")
    chk.expect(isinstance(uid, int) and uid != 0, f"{where}: pod runAsUser is {uid!r} (want a non-zero uid)")


def env_value(maps, names):
    """The value a key takes from the ConfigMaps of envFrom (the last one wins)."""
    out = {}
    for n in names:
        out.update((maps.get(n) or {}).get("data") or {})
    return out


def check(objects, label, secret_keys):
    chk = Checker(label)
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o.get("kind"), {})[o["metadata"]["name"]] = o
    deployments = by_kind.get("Deployment", {})
    maps = by_kind.get("ConfigMap", {})
    chk.expect(len(deployments) == 5, f"{len(deployments)} Deployments rendered, want the five binaries")

    for name, d in deployments.items():
        where = f"Deployment {name}"
        pod = d["spec"]["template"]
        spec = pod["spec"]
        check_pod_security(spec, where, chk)
        containers = spec.get("containers") or []
        chk.expect(len(containers) > 0, f"{where}: no containers")
        for c in containers:
            check_container(c, where, chk, ports_required=True)
        for c in spec.get("initContainers") or []:
            check_container(c, where + " (init)", chk, ports_required=False)
        selector = (d["spec"].get("selector") or {}).get("matchLabels") or {}
        labels = (pod.get("metadata") or {}).get("labels") or {}
        chk.expect(selector and all(labels.get(k) == v for k, v in selector.items()),
                   f"{where}: selector {selector} does not match its pod labels {labels}")
        for c in containers:
            refs = [e["configMapRef"]["name"] for e in c.get("envFrom") or [] if "configMapRef" in e]
            for r in refs:
                chk.expect(r in maps, f"{where}: reads ConfigMap {r}, which is not rendered")
            grace = duration_seconds(env_value(maps, refs).get("EARSHOT_SHUTDOWN_GRACE", "3s"))
            tgps = spec.get("terminationGracePeriodSeconds", 30)
            chk.expect(grace is not None and tgps > grace,
                       f"{where}: terminationGracePeriodSeconds {tgps} is not above EARSHOT_SHUTDOWN_GRACE ({grace} s)")

    autoscalers = {}
    auths = by_kind.get("TriggerAuthentication", {})
    for name, so in by_kind.get("ScaledObject", {}).items():
        where = f"ScaledObject {name}"
        ref = so["spec"].get("scaleTargetRef") or {}
        target = ref.get("name")
        chk.expect(ref.get("kind", "Deployment") == "Deployment", f"{where}: targets a {ref.get('kind')}")
        if not chk.expect(target in deployments, f"{where}: targets Deployment {target!r}, which is not rendered"):
            continue
        autoscalers.setdefault(target, []).append(where)
        mn, mx = so["spec"].get("minReplicaCount", 0), so["spec"].get("maxReplicaCount", 100)
        chk.expect(1 <= mn <= mx, f"{where}: replicas min {mn} max {mx}")
        chk.expect("cooldownPeriod" in so["spec"], f"{where}: no cooldownPeriod")
        triggers = so["spec"].get("triggers") or []
        chk.expect(len(triggers) == 1 and triggers[0].get("type") == "rabbitmq", f"{where}: not one rabbitmq trigger")
        for t in triggers:
            md = t.get("metadata") or {}
            chk.expect(md.get("protocol") == "http", f"{where}: protocol {md.get('protocol')!r}, want http")
            chk.expect(md.get("useRegex") == "true", f"{where}: useRegex is not \"true\"")
            chk.expect(md.get("operation") == "sum", f"{where}: operation {md.get('operation')!r}, want sum")
            chk.expect(md.get("mode") == "QueueLength", f"{where}: mode {md.get('mode')!r}, want QueueLength")
            try:
                chk.expect(float(md.get("value", "0")) > 0, f"{where}: value {md.get('value')!r}")
            except ValueError:
                chk.expect(False, f"{where}: value {md.get('value')!r} is not a number")
            auth = (t.get("authenticationRef") or {}).get("name")
            chk.expect(auth in auths, f"{where}: TriggerAuthentication {auth!r} is not rendered")
            try:
                rx = re.compile(md.get("queueName", ""))
            except re.error as e:
                chk.expect(False, f"{where}: queueName does not compile: {e}")
                continue
            own = STAGES_OF.get(target, [])
            chk.expect(own, f"{where}: {target} is not a stage worker")
            for stage in ALL_STAGES:
                for bid in ("acme", "b-2_x", "a" * 64):
                    work = f"{stage}.{bid}"
                    want = stage in own
                    chk.expect(bool(rx.fullmatch(work)) == want and bool(rx.search(work)) == want,
                               f"{where}: queue regex {'misses' if want else 'matches'} work queue {work}")
                    for other in (f"retry.{stage}.{bid}.5s", f"dlq.{stage}.{bid}"):
                        chk.expect(not rx.search(other), f"{where}: queue regex matches {other}")
    for name, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = h["spec"].get("scaleTargetRef") or {}
        target = ref.get("name")
        if chk.expect(ref.get("kind") == "Deployment" and target in deployments,
                      f"HorizontalPodAutoscaler {name}: targets {ref.get('kind')} {target!r}, which is not rendered"):
            autoscalers.setdefault(target, []).append(f"HorizontalPodAutoscaler {name}")
            chk.expect(h["spec"].get("minReplicas", 1) >= 1, f"HorizontalPodAutoscaler {name}: minReplicas below 1")
    for name in deployments:
        chk.expect(len(autoscalers.get(name, [])) == 1,
                   f"Deployment {name}: {len(autoscalers.get(name, []))} autoscalers ({autoscalers.get(name)}), want one")

    covered = set()
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        sel = (pdb["spec"].get("selector") or {}).get("matchLabels") or {}
        hits = [d for d, o in deployments.items()
                if sel and all(((o["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(k) == v
                               for k, v in sel.items())]
        chk.expect(hits, f"PodDisruptionBudget {name}: selector {sel} matches no Deployment's pods")
        covered.update(hits)
    for name in deployments:
        chk.expect(name in covered, f"Deployment {name}: no PodDisruptionBudget")

    jobs = by_kind.get("Job", {})
    migrate = [j for j in jobs.values()
               if any("migrate" in (c.get("args") or []) + (c.get("command") or [])
                      for c in j["spec"]["template"]["spec"].get("containers") or [])]
    if chk.expect(len(migrate) == 1, f"{len(migrate)} migration Jobs (a container running `earshot migrate`), want one"):
        j = migrate[0]
        spec = j["spec"]["template"]["spec"]
        check_pod_security(spec, f"Job {j['metadata']['name']}", chk)
        for c in spec.get("containers") or []:
            check_container(c, f"Job {j['metadata']['name']}", chk, ports_required=False)
            chk.expect((c.get("args") or [])[:2] == ["earshot", "migrate"],
                       f"Job {j['metadata']['name']}: args {c.get('args')}, want [earshot, migrate]")

    deny = [p for p in by_kind.get("NetworkPolicy", {}).values()
            if p["spec"].get("podSelector") in ({}, None) and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    chk.expect(len(deny) == 1, "no default-deny NetworkPolicy (every pod, Ingress and Egress, no rules)")

    for o in objects:
        if o.get("kind") not in ("Deployment", "Job"):
            continue
        for c in o["spec"]["template"]["spec"].get("containers") or []:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    chk.expect(ref.get("key") in secret_keys,
                               f"{o['kind']} {o['metadata']['name']}: Secret key {ref.get('key')!r} "
                               "is not in secrets.example.env")
    for a in auths.values():
        for r in a["spec"].get("secretTargetRef") or []:
            chk.expect(r.get("key") in secret_keys,
                       f"TriggerAuthentication {a['metadata']['name']}: Secret key {r.get('key')!r} "
                       "is not in secrets.example.env")
    return chk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True, help="infra/k8s")
    ap.add_argument("--kubectl", action="append", default=[], help="a kubectl to render with (repeatable)")
    args = ap.parse_args()
    kubectls = args.kubectl or ["kubectl"]
    targets = [os.path.join(args.root, "base")]
    overlays = os.path.join(args.root, "overlays")
    targets += sorted(os.path.join(overlays, d) for d in os.listdir(overlays)
                      if os.path.isfile(os.path.join(overlays, d, "kustomization.yaml")))
    secret_keys = set()
    with open(os.path.join(args.root, "secrets.example.env"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                secret_keys.add(line.split("=", 1)[0])

    failures, total = [], 0
    for kubectl in kubectls:
        for target in targets:
            label = f"{os.path.relpath(target, args.root)} ({os.path.basename(kubectl)}"
            try:
                version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True,
                                         timeout=60).stdout
                m = re.search(r"GitVersion:\"(v[0-9.]+)|Client Version: (v[0-9.]+)", version)
                label += " " + (m.group(1) or m.group(2)) if m else ""
            except (OSError, subprocess.TimeoutExpired) as e:
                failures.append(f"{kubectl}: cannot run: {e}")
                continue
            label += ")"
            r = subprocess.run([kubectl, "kustomize", target], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                failures.append(f"{label}: kubectl kustomize failed ({r.returncode}): {r.stderr.strip()}")
                continue
            objects = [o for o in yaml.safe_load_all(r.stdout) if o]
            chk = check(objects, label, secret_keys)
            total += chk.checked
            failures += chk.failures
            print(f"{label}: {len(objects)} objects, {chk.checked} checks, {len(chk.failures)} failed")
    for f in failures:
        print("FAIL " + f)
    if not failures:
        print(f"k8s manifests: {total} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
