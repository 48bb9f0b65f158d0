#!/usr/bin/env python3
"""Static checks of the container image and the compose file (no Docker daemon needed).

infra/docker/Dockerfile:
  * every stage starts FROM debian:12 (or debian:12-slim);
  * every binary the compose file runs (its roles: sync, stt, analyze, notify, gateway,
    migrate -> earshot) is built in a builder stage and verified (--version) in the final
    stage, and the entrypoint maps its role to it;
  * the final stage runs as a non-root USER, has a HEALTHCHECK that probes /readyz;
  * no ENV or ARG named like a secret (*SECRET*, *PASSWORD*, *KEY*, *TOKEN*) and no
    EARSHOT_* ENV at all (configuration is given at run time; binaries refuse keys they do
    not declare).
.dockerignore keeps .git, .local, build trees and the compose .env out of the context.
infra/compose/docker-compose.yml:
  * the five Earshot services exist, none has a container_name, only the gateway publishes
    a host port (so `--scale` works), each waits for healthy dependencies and the migration;
  * infra/compose/.env is git-ignored;
  * Grafana's provisioning (datasource, dashboards folder) matches what compose mounts.

  compose_image_check.py --root REPO
"""
import argparse
import os
import re
import subprocess
import sys

import yaml

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|KEY|TOKEN|CREDENTIAL", re.I)
ROLE_BINARY = {"sync": "earshot-sync", "stt": "earshot-stt", "analyze": "earshot-analyze",
               "notify": "earshot-notify", "gateway": "earshot-gateway", "migrate": "earshot"}
SERVICES = ["earshot-sync", "earshot-stt", "earshot-analyze", "earshot-notify", "earshot-gateway"]
failures = []


def fail(msg):
    failures.append(msg)


def instructions(path):
    """[(stage_index, INSTRUCTION, text)] with continuation lines joined, comments dropped."""
    out, stage, buf = [], -1, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            text = (buf + line).strip()
            buf = ""
            word, _, rest = text.partition(" ")
            word = word.upper()
            if word == "FROM":
                stage += 1
            out.append((stage, word, rest.strip()))
    return out


def check_dockerfile(root, roles):
    path = os.path.join(root, "infra", "docker", "Dockerfile")
    if not os.path.exists(path):
        fail("infra/docker/Dockerfile is missing")
        return
    ins = instructions(path)
    final = max(s for s, _, _ in ins)
    for s, word, rest in ins:
        if word == "FROM":
            image = rest.split()[0]
            if not re.fullmatch(r"debian:12(-slim)?", image):
                fail(f"Dockerfile: stage {s} is FROM {image}, not debian:12")
        if word in ("ENV", "ARG"):
            # ENV A=1 B=2 / ENV A 1 / ARG A[=default]
            pairs = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)(=\S*)?", rest) if word == "ARG" or "=" in rest \
                else [(rest.split()[0], " " + " ".join(rest.split()[1:]))]
            for name, value in pairs:
                if word == "ENV" and name.startswith("EARSHOT_"):
                    fail(f"Dockerfile: ENV {name}: configuration belongs to run time (binaries refuse undeclared keys)")
                if SECRET_NAME.search(name):
                    fail(f"Dockerfile: {word} {name}{value or ''}: a secret in a build argument or layer")
    # The targets given to scripts/build.sh in the builder (none: it builds everything).
    builds = [m.group(1).split() for s, w, r in ins if s < final and w == "RUN"
              for m in re.finditer(r"scripts/build\.sh([^&;|]*)", r)]
    if not builds:
        fail("Dockerfile: no builder stage runs scripts/build.sh")
    final_text = " ".join(r for s, w, r in ins if s == final)
    entry = os.path.join(root, "infra", "docker", "entrypoint.sh")
    entry_text = open(entry, encoding="utf-8").read() if os.path.exists(entry) else ""
    if not entry_text:
        fail("infra/docker/entrypoint.sh is missing")
    for role in sorted(roles):
        binary = ROLE_BINARY.get(role)
        if binary is None:
            fail(f"compose runs role '{role}', which the image does not provide")
            continue
        if builds and not any(not targets or binary in targets for targets in builds):
            fail(f"Dockerfile: {binary} (role {role}) is not built in the builder stage")
        if not re.search(rf"(?<![\w-]){re.escape(binary)}(?![\w-])", final_text):
            fail(f"Dockerfile: {binary} (role {role}) is not in the final stage")
        if not re.search(rf"^\s*[^#\n]*(?<![\w-]){re.escape(role)}(?![\w-])[^)\n]*\)", entry_text, re.M):
            fail(f"entrypoint.sh: role {role} is not handled")
    users = [r for s, w, r in ins if s == final and w == "USER"]
    if not users:
        fail("Dockerfile: the final stage has no USER (it would run as root)")
    elif users[-1].split(":")[0] in ("root", "0"):
        fail(f"Dockerfile: the final stage runs as USER {users[-1]}")
    checks = [r for s, w, r in ins if s == final and w == "HEALTHCHECK"]
    if not checks or checks[-1].upper().startswith("NONE"):
        fail("Dockerfile: the final stage has no HEALTHCHECK")
    elif "readyz" not in checks[-1] and not ("healthcheck" in checks[-1] and "/readyz" in entry_text):
        fail("Dockerfile: the HEALTHCHECK does not probe /readyz")
    ignore = os.path.join(root, ".dockerignore")
    patterns = open(ignore, encoding="utf-8").read().split() if os.path.exists(ignore) else []
    for p in (".git", ".local", "build", "infra/compose/.env"):
        if p not in patterns:
            fail(f".dockerignore does not exclude {p}")


def check_grafana(root, svc):
    """The provisioned dashboards folder is the one compose mounts, and the datasource is there."""
    mounts = {}
    for v in svc.get("volumes") or []:
        parts = str(v).split(":")
        if len(parts) >= 2:
            mounts[parts[1]] = parts[0]
    prov = os.path.join(root, "infra", "grafana", "provisioning")
    try:
        with open(os.path.join(prov, "datasources", "prometheus.yml"), encoding="utf-8") as f:
            sources = (yaml.safe_load(f) or {}).get("datasources") or []
        with open(os.path.join(prov, "dashboards", "earshot.yml"), encoding="utf-8") as f:
            providers = (yaml.safe_load(f) or {}).get("providers") or []
    except OSError as e:
        fail(f"grafana provisioning: {e}")
        return
    if not any(s.get("type") == "prometheus" and s.get("url") == "http://prometheus:9090" for s in sources):
        fail("grafana provisioning: no Prometheus datasource at http://prometheus:9090")
    for p in providers:
        path = (p.get("options") or {}).get("path")
        if mounts.get(path) != "../grafana/dashboards":
            fail(f"grafana provisioning: dashboards path {path} is not where compose mounts infra/grafana/dashboards")
    if mounts.get("/etc/grafana/provisioning") != "../grafana/provisioning":
        fail("compose service grafana: infra/grafana/provisioning is not mounted at /etc/grafana/provisioning")


def check_compose(root):
    path = os.path.join(root, "infra", "compose", "docker-compose.yml")
    if not os.path.exists(path):
        fail("infra/compose/docker-compose.yml is missing")
        return set()
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    services = doc.get("services") or {}
    roles = set()
    for name, svc in services.items():
        if "container_name" in svc:
            fail(f"compose service {name}: container_name prevents scaling")
        command = svc.get("command") or []
        if isinstance(command, str):
            command = command.split()
        if "build" in svc and "infra/docker/Dockerfile" in str(svc["build"]):
            if not command:
                fail(f"compose service {name}: runs the Earshot image without a role")
            else:
                roles.add(str(command[0]))
    for name in SERVICES:
        svc = services.get(name)
        if svc is None:
            fail(f"compose: service {name} is missing")
            continue
        if name != "earshot-gateway" and svc.get("ports"):
            fail(f"compose service {name}: publishes host ports, so it cannot be scaled")
        deps = svc.get("depends_on")
        if not isinstance(deps, dict) or not deps:
            fail(f"compose service {name}: depends_on without health conditions")
            continue
        for dep, cond in deps.items():
            c = (cond or {}).get("condition")
            if c not in ("service_healthy", "service_completed_successfully"):
                fail(f"compose service {name}: depends on {dep} with condition {c}")
        if deps.get("migrate", {}).get("condition") != "service_completed_successfully":
            fail(f"compose service {name}: does not wait for the migration to complete")
    check_grafana(root, services.get("grafana") or {})
    migrate = services.get("migrate") or {}
    if (migrate.get("command") or [None])[0] != "migrate":
        fail("compose: no one-shot `migrate` service")
    # 0 ignored, 1 not ignored, 128 not a git checkout (a copy): then read .gitignore itself.
    ignored = subprocess.run(["git", "-C", root, "check-ignore", "-q", "infra/compose/.env"],
                             capture_output=True).returncode
    if ignored == 128:
        gitignore = os.path.join(root, ".gitignore")
        text = open(gitignore, encoding="utf-8").read() if os.path.exists(gitignore) else ""
        ignored = 0 if re.search(r"^/?infra/compose/\.env$", text, re.M) else 1
    if ignored != 0:
        fail("infra/compose/.env is not git-ignored")
    return roles


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    root = os.path.abspath(ap.parse_args().root)
    roles = check_compose(root)
    check_dockerfile(root, roles)
    for f in failures:
        print("FAIL:", f)
    if failures:
        print(f"compose_image_check: {len(failures)} problem(s)")
        return 1
    print(f"compose_image_check: image and compose file hold (roles {', '.join(sorted(roles))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
