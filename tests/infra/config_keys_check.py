#!/usr/bin/env python3
"""Every EARSHOT_* key the deployment files give a binary is a key that binary accepts.

For each Earshot container of the compose file (resolved by `docker-compose config` with the
committed env.example) and of the Kubernetes manifests under infra/k8s (rendered with
`kubectl kustomize` where a kustomization exists, else read as plain YAML; absent: skipped):

  * the binary it runs is worked out from its command (the image's entrypoint takes the role
    as the first argument: sync, stt, analyze, notify, gateway, migrate);
  * every EARSHOT_* key of its environment (environment, env_file, env, envFrom) must be
    listed by that binary's --help (`earshot migrate --help` for the migration);
  * a service binary run with exactly that environment (`env -i`) and --check-config must
    exit 0 (unknown keys and invalid values fail there).

Also every EARSHOT_* token written anywhere under infra/compose and infra/k8s (comments and
env files included) must be a key of at least one binary. Exit 0 when all hold, 1 otherwise.

  config_keys_check.py --root REPO --bin-dir REPO/build/bin
"""
import argparse
import base64
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

ROLES = {
    "sync": "earshot-sync",
    "stt": "earshot-stt",
    "analyze": "earshot-analyze",
    "notify": "earshot-notify",
    "gateway": "earshot-gateway",
    "migrate": "earshot migrate",
}
SERVICE_BINARIES = [b for b in ROLES.values() if b.startswith("earshot-")]
COMPOSE_SERVICES = ["earshot-sync", "earshot-stt", "earshot-analyze", "earshot-notify", "earshot-gateway"]
KEY_LINE = re.compile(r"^\s+(EARSHOT_[A-Z0-9_]+)\s")
KEY_TOKEN = re.compile(r"EARSHOT_[A-Z0-9][A-Z0-9_]*")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "ReplicaSet"}

failures = []
notes = []


def fail(msg):
    failures.append(msg)


def binary_argv(bin_dir, binary):
    parts = binary.split(" ")
    return [os.path.join(bin_dir, parts[0])] + parts[1:]


def help_keys(bin_dir, binary):
    argv = binary_argv(bin_dir, binary) + ["--help"]
    out = subprocess.run(argv, capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    if out.returncode != 0:
        raise SystemExit(f"config_keys_check: {' '.join(argv)} exited {out.returncode}: {out.stderr}")
    keys = {m.group(1) for line in out.stdout.splitlines() if (m := KEY_LINE.match(line))}
    if not keys:
        raise SystemExit(f"config_keys_check: {' '.join(argv)} lists no EARSHOT_* keys")
    return keys


def role_of(tokens, fallback_name=""):
    """The binary a container runs, from its command/args tokens, else its name."""
    for i, t in enumerate(tokens):
        base = os.path.basename(str(t))
        if base in ROLES and base != "migrate":
            return ROLES[base]
        if base.startswith("earshot-") and base in SERVICE_BINARIES:
            return base
        if base == "migrate" or (base in ("earshot", "cli") and i + 1 < len(tokens) and tokens[i + 1] == "migrate"):
            return ROLES["migrate"]
    name = fallback_name
    if name in SERVICE_BINARIES:
        return name
    if name in ROLES:
        return ROLES[name]
    return None


def check_env(where, binary, env, unknown_values, bin_dir, accepted):
    """env: EARSHOT_* -> value (None when the manifests do not say, e.g. an external Secret)."""
    keys = {k for k in env if k.startswith("EARSHOT_")}
    for k in sorted(keys - accepted[binary]):
        fail(f"{where}: gives {k} to `{binary}`, whose --help does not list it")
    if not binary.startswith("earshot-"):
        return len(keys)
    run_env = {"PATH": os.environ.get("PATH", "")}
    for k in keys:
        v = env[k]
        if v is None:
            v = unknown_values.get(k)
            if v is None:
                notes.append(f"{where}: {k} has no value in the files (only its name was checked)")
                continue
        run_env[k] = v
    out = subprocess.run(binary_argv(bin_dir, binary) + ["--check-config"], capture_output=True, text=True,
                         env=run_env, cwd="/")
    if out.returncode != 0:
        fail(f"{where}: `{binary} --check-config` with its environment exited {out.returncode}: "
             f"{out.stderr.strip() or out.stdout.strip()}")
    return len(keys)


def compose_command():
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def read_env_file(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k.strip()] = v
    return env


def check_compose(root, bin_dir, accepted, compose_values):
    compose_dir = os.path.join(root, "infra", "compose")
    path = os.path.join(compose_dir, "docker-compose.yml")
    if not os.path.exists(path):
        fail("infra/compose/docker-compose.yml is missing")
        return
    cmd = compose_command()
    if cmd is None:
        fail("neither docker-compose nor `docker compose` is installed (scripts/install-deps.sh)")
        return
    out = subprocess.run(cmd + ["-f", path, "--env-file", os.path.join(compose_dir, "env.example"), "config"],
                         capture_output=True, text=True, cwd=compose_dir)
    if out.returncode != 0:
        fail(f"`docker-compose config` failed: {out.stderr.strip()}")
        return
    services = (yaml.safe_load(out.stdout) or {}).get("services") or {}
    for name in COMPOSE_SERVICES + ["migrate"]:
        if name not in services:
            fail(f"compose: service {name} is missing")
    checked = []
    for name, svc in sorted(services.items()):
        env = {}
        for f in svc.get("env_file") or []:
            f = f if isinstance(f, str) else f.get("path", "")
            env.update(read_env_file(os.path.join(compose_dir, f)))
        raw = svc.get("environment") or {}
        if isinstance(raw, list):
            raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
        env.update({k: (None if v is None else str(v).replace("$$", "$")) for k, v in raw.items()})
        command = svc.get("command") or []
        if isinstance(command, str):
            command = shlex.split(command)
        binary = role_of([str(c) for c in command])
        if binary is None and any(k.startswith("EARSHOT_") for k in env):
            fail(f"compose service {name}: has EARSHOT_* settings but its command {command} names no Earshot binary")
            continue
        if binary is None:
            continue
        for k, v in env.items():
            if k.startswith("EARSHOT_") and v is not None:
                compose_values.setdefault(k, v)
        n = check_env(f"compose service {name}", binary, env, {}, bin_dir, accepted)
        checked.append(f"{name}={binary}({n} keys)")
    print("compose:", ", ".join(checked))


def k8s_objects(k8s_dir):
    """The objects of every kustomization (rendered), else of every YAML file."""
    kustom_dirs = sorted({d for d, _, files in os.walk(k8s_dir)
                          if {"kustomization.yaml", "kustomization.yml", "Kustomization"} & set(files)})
    docs = []
    if kustom_dirs:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            fail("infra/k8s has kustomizations but kubectl is not installed")
            return []
        for d in kustom_dirs:
            out = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True)
            rel = os.path.relpath(d, os.path.dirname(os.path.dirname(k8s_dir)))
            if out.returncode != 0:
                fail(f"`kubectl kustomize {rel}` failed: {out.stderr.strip()}")
                continue
            docs += [(rel, o) for o in yaml.safe_load_all(out.stdout) if isinstance(o, dict)]
        return docs
    for d, _, files in os.walk(k8s_dir):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8") as fh:
                    try:
                        docs += [(os.path.relpath(p, os.path.dirname(os.path.dirname(k8s_dir))), o)
                                 for o in yaml.safe_load_all(fh) if isinstance(o, dict)]
                    except yaml.YAMLError as e:
                        fail(f"{p}: not YAML: {e}")
    return docs


def pod_spec(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if kind in WORKLOAD_KINDS:
        return (spec.get("template") or {}).get("spec")
    return None


def check_k8s(root, bin_dir, accepted, compose_values):
    k8s_dir = os.path.join(root, "infra", "k8s")
    if not os.path.isdir(k8s_dir):
        print("k8s: infra/k8s does not exist, nothing to check")
        return
    docs = k8s_objects(k8s_dir)
    checked = []
    by_source = {}
    for src, o in docs:
        by_source.setdefault(src, []).append(o)
    for src, objs in sorted(by_source.items()):
        data = {}  # (kind, namespace, name) -> {key: value}
        for o in objs:
            kind, meta = o.get("kind"), o.get("metadata") or {}
            ns = meta.get("namespace", "")
            if kind == "ConfigMap":
                data[("ConfigMap", ns, meta.get("name"))] = {k: str(v) for k, v in (o.get("data") or {}).items()}
            elif kind == "Secret":
                values = {}
                for k, v in (o.get("data") or {}).items():
                    try:
                        values[k] = base64.b64decode(str(v)).decode("utf-8")
                    except (ValueError, UnicodeDecodeError):
                        values[k] = None
                values.update({k: str(v) for k, v in (o.get("stringData") or {}).items()})
                data[("Secret", ns, meta.get("name"))] = values
        for o in objs:
            spec = pod_spec(o)
            if not spec:
                continue
            meta = o.get("metadata") or {}
            ns = meta.get("namespace", "")
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                env = {}
                for ef in c.get("envFrom") or []:
                    prefix = ef.get("prefix", "")
                    for kind, ref in (("ConfigMap", ef.get("configMapRef")), ("Secret", ef.get("secretRef"))):
                        if not ref:
                            continue
                        values = data.get((kind, ns, ref.get("name")))
                        if values is None:
                            notes.append(f"{src} {o['kind']}/{meta.get('name')} container {c.get('name')}: "
                                         f"envFrom {kind} {ref.get('name')} is not in the files (its keys are unknown)")
                            continue
                        env.update({prefix + k: v for k, v in values.items()})
                for e in c.get("env") or []:
                    name = e.get("name", "")
                    if "value" in e:
                        env[name] = str(e["value"])
                    elif "valueFrom" in e:
                        vf = e["valueFrom"]
                        value = None
                        for kind, ref in (("ConfigMap", vf.get("configMapKeyRef")), ("Secret", vf.get("secretKeyRef"))):
                            if ref:
                                value = (data.get((kind, ns, ref.get("name"))) or {}).get(ref.get("key"))
                        env[name] = value
                    else:
                        env[name] = ""
                tokens = [str(t) for t in (c.get("command") or []) + (c.get("args") or [])]
                binary = role_of(tokens, c.get("name", ""))
                where = f"{src} {o.get('kind')}/{meta.get('name')} container {c.get('name')}"
                if binary is None:
                    if any(k.startswith("EARSHOT_") for k in env):
                        fail(f"{where}: has EARSHOT_* settings but names no Earshot binary ({tokens})")
                    continue
                n = check_env(where, binary, env, compose_values, bin_dir, accepted)
                checked.append(f"{o.get('kind')}/{meta.get('name')}={binary}({n} keys)")
    print(f"k8s: {len(checked)} containers:", ", ".join(checked) if checked else "none with an Earshot binary")


def check_tokens(root, accepted):
    every = set().union(*accepted.values())
    for sub in ("compose", "k8s"):
        top = os.path.join(root, "infra", sub)
        for d, _, files in os.walk(top):
            for f in files:
                p = os.path.join(d, f)
                try:
                    text = open(p, encoding="utf-8").read()
                except (UnicodeDecodeError, OSError):
                    continue
                for k in sorted(set(KEY_TOKEN.findall(text)) - every):
                    fail(f"{os.path.relpath(p, root)}: mentions {k}, which no Earshot binary accepts")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    accepted = {b: help_keys(args.bin_dir, b) for b in ROLES.values()}
    compose_values = {}
    check_compose(root, args.bin_dir, accepted, compose_values)
    check_k8s(root, args.bin_dir, accepted, compose_values)
    check_tokens(root, accepted)
    for n in notes:
        print("note:", n)
    for f in failures:
        print("FAIL:", f)
    if failures:
        print(f"config_keys_check: {len(failures)} problem(s)")
        return 1
    print("config_keys_check: every EARSHOT_* key is accepted by the binary that gets it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
