"""The Kubernetes manifests (deploy/kubernetes): each overlay renders with `kubectl
kustomize`, every object is valid against the Kubernetes schemas (kubernetes-validate,
offline), and the objects give the services what they need and nothing more.

Without kubectl the tests skip, or fail under CI=true (tests/servers.py's `missing`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from tests.servers import missing
from tradewind.app.registry import SERVICES

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
RENDERED = {
    "dev": "overlays/dev",
    "production": "overlays/production",
    "external-kms": "examples/external-kms",
}
#: The oldest Kubernetes the manifests target (README) and the newest schemas shipped.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
#: Kinds of operators the examples use, which Kubernetes' own schemas do not describe.
CUSTOM_KINDS = {
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1", "SecretStore"),
}
DEV_SECRET_FILES = ("database-url", "master-keys", "jwt-secret", "sim-admin-token")

SCALED = ("marketdata", "strategy", "risk", "execution", "portfolio", "gateway")
CONSUMERS = ("strategy", "risk", "execution", "portfolio")
VENUE_CLIENTS = {"execution", "marketdata", "strategy", "gateway"}
SECRET_SETTINGS = {
    "TRADEWIND_DATABASE_URL",
    "TRADEWIND_MASTER_KEYS",
    "TRADEWIND_MASTER_KEY",
    "TRADEWIND_JWT_SECRET",
    "TRADEWIND_HEALTH_TOKEN",
    "TRADEWIND_SIM_ADMIN_TOKEN",
}
CONNECTIONS = {"TRADEWIND_BUS_URL", "TRADEWIND_CACHE_URL", "TRADEWIND_DATABASE_URL"}
#: What each service cannot run without, in distributed mode.
NEEDS: dict[str, set[str]] = {
    name: CONNECTIONS | {"TRADEWIND_HEALTH_HOST", "TRADEWIND_HEALTH_PORT"} for name in SERVICES
}
for _name in VENUE_CLIENTS:
    NEEDS[_name] |= {"TRADEWIND_VENUE_URLS"}
NEEDS["execution"] |= {"TRADEWIND_MASTER_KEYS"}
NEEDS["gateway"] |= {
    "TRADEWIND_MASTER_KEYS",
    "TRADEWIND_JWT_SECRET",
    "TRADEWIND_HTTP_HOST",
    "TRADEWIND_HTTP_PORT",
}
#: Only these services may hold the key-encryption and token-signing secrets.
HOLDERS = {"TRADEWIND_MASTER_KEYS": {"execution", "gateway"}, "TRADEWIND_JWT_SECRET": {"gateway"}}


def kustomize(directory: Path) -> list[Obj]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        missing("kubectl is not installed (it renders deploy/kubernetes with kustomize)")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {directory} failed:\n{result.stderr}", pytrace=False)
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Every overlay rendered, from a copy of the tree in which the dev overlay's secret
    files (never committed) hold placeholders."""
    tree = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(ROOT, tree)
    for name in DEV_SECRET_FILES:
        (tree / "overlays" / "dev" / "secrets" / name).write_text(f"placeholder-{name}")
    return {name: kustomize(tree / path) for name, path in RENDERED.items()}


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def config_map(objects: list[Obj]) -> dict[str, str]:
    (config,) = (
        o for o in objects if o["kind"] == "ConfigMap" and "tradewind-config" in name_of(o)
    )
    return dict(config["data"])


def name_of(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def container(obj: Obj) -> Obj:
    (main,) = (c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == "tradewind")
    return dict(main)


def service_deployment(objects: list[Obj], service: str) -> Obj:
    return of_kind(objects, "Deployment")[f"tradewind-{service}"]


def pod_templates(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield f"{obj['kind']}/{name_of(obj)}", obj["spec"]["template"]


def supplied_settings(objects: list[Obj], obj: Obj) -> tuple[set[str], set[str]]:
    """(settings given as environment variables, settings given as files in
    TRADEWIND_SECRETS_DIR) of the pod template of `obj`."""
    configs = {name_of(o): o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    main = container(obj)
    env: set[str] = {e["name"] for e in main.get("env", [])}
    for source in main.get("envFrom", []):
        env |= set(configs[source["configMapRef"]["name"]])
    secrets_dir = config_map(objects)["TRADEWIND_SECRETS_DIR"]
    (mount,) = (m for m in main["volumeMounts"] if m["mountPath"] == secrets_dir)
    volumes = {v["name"]: v for v in obj["spec"]["template"]["spec"]["volumes"]}
    files: set[str] = set()
    for source in volumes[mount["name"]]["projected"]["sources"]:
        files |= {item["path"] for item in source["secret"]["items"]}
    return env, files


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with In) matches."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def policies_for(objects: list[Obj], labels: Mapping[str, str]) -> list[Obj]:
    return [
        policy
        for policy in of_kind(objects, "NetworkPolicy").values()
        if policy["spec"]["podSelector"] and selects(policy["spec"]["podSelector"], labels)
    ]


def egress_ports(policies: list[Obj]) -> set[int]:
    return {
        port["port"]
        for policy in policies
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }


# -- rendering and schemas --------------------------------------------------------------


@pytest.mark.parametrize("overlay", list(RENDERED))
def test_overlay_renders_objects_valid_for_kubernetes(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert objects
    problems = []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{obj['kind']}/{name_of(obj)} (Kubernetes {version}): {exc}")
    assert not problems, "\n".join(problems)


def test_no_custom_kinds_in_the_overlays_themselves(rendered: dict[str, list[Obj]]) -> None:
    for overlay in ("dev", "production"):
        kinds = {(o["apiVersion"], o["kind"]) for o in rendered[overlay]}
        assert not kinds & CUSTOM_KINDS, overlay


# -- services, probes, ports ------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_registry_service_has_a_deployment_running_it(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    deployments = of_kind(rendered[overlay], "Deployment")
    for service in SERVICES:
        deployment = deployments[f"tradewind-{service}"]
        assert container(deployment)["args"] == ["service", service]
        assert container(deployment)["image"].split(":")[0].endswith("tradewind")


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_probes_ask_the_health_port_for_readyz_and_healthz(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    settings = config_map(rendered[overlay])
    health_port = int(settings["TRADEWIND_HEALTH_PORT"])
    assert settings["TRADEWIND_HEALTH_HOST"] == "0.0.0.0"  # else the kubelet cannot probe
    for service in SERVICES:
        main = container(service_deployment(rendered[overlay], service))
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        assert ports["health"] == health_port
        paths = {
            "readinessProbe": "/readyz",
            "livenessProbe": "/healthz",
            "startupProbe": "/healthz",
        }
        for probe, path in paths.items():
            get = main[probe]["httpGet"]
            assert get["path"] == path, (service, probe)
            assert ports.get(get["port"], get["port"]) == health_port, (service, probe)


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_services_expose_the_gateway_api_and_every_health_port(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    settings = config_map(objects)
    services = of_kind(objects, "Service")
    for service in SERVICES:
        ports = {p["name"]: p for p in services[f"tradewind-{service}"]["spec"]["ports"]}
        container_ports = {
            p["name"]: p["containerPort"]
            for p in container(service_deployment(objects, service))["ports"]
        }
        assert container_ports[ports["health"]["targetPort"]] == int(
            settings["TRADEWIND_HEALTH_PORT"]
        )
    gateway = {p["name"]: p for p in services["tradewind-gateway"]["spec"]["ports"]}
    gateway_ports = {
        p["name"]: p["containerPort"]
        for p in container(service_deployment(objects, "gateway"))["ports"]
    }
    assert gateway_ports[gateway["http"]["targetPort"]] == int(settings["TRADEWIND_HTTP_PORT"])


# -- settings and secrets ---------------------------------------------------------------


@pytest.mark.parametrize("overlay", list(RENDERED))
def test_every_service_gets_the_settings_it_needs_secrets_as_files(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    for service in SERVICES:
        env, files = supplied_settings(objects, service_deployment(objects, service))
        assert NEEDS[service] <= env | files, (service, NEEDS[service] - env - files)
        assert not env & SECRET_SETTINGS, (service, "secret setting in the environment")
        # The environment wins over the secrets directory: one source per setting.
        assert not env & files, (service, env & files)
        for setting, holders in HOLDERS.items():
            assert (setting in files) == (service in holders), (service, setting)
    env, files = supplied_settings(objects, of_kind(objects, "Job")["tradewind-migrate"])
    assert CONNECTIONS - {"TRADEWIND_BUS_URL", "TRADEWIND_CACHE_URL"} <= files
    assert not files & {"TRADEWIND_MASTER_KEYS", "TRADEWIND_JWT_SECRET"}


@pytest.mark.parametrize("overlay", list(RENDERED))
def test_no_secret_value_is_written_in_config_maps_or_pod_specs(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    for config in of_kind(objects, "ConfigMap").values():
        data = config.get("data", {})
        assert not set(data) & SECRET_SETTINGS, name_of(config)
        for key, value in data.items():
            for url in value.split(","):
                if "://" in url:
                    assert urlsplit(url.split("=", 1)[-1]).password is None, key
    for where, template in pod_templates(objects):
        for main in template["spec"]["containers"]:
            for variable in main.get("env", []):
                if variable["name"] in SECRET_SETTINGS or "://" in variable.get("value", ""):
                    assert "value" not in variable, (where, variable["name"])
    if overlay != "dev":  # only dev makes Secrets, from files that are not committed
        assert not of_kind(objects, "Secret")


def test_no_committed_file_defines_a_secret() -> None:
    for path in ROOT.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            for obj in yaml.safe_load_all(path.read_text()):
                if isinstance(obj, dict):
                    assert obj.get("kind") != "Secret", path
    ignored = (ROOT / "overlays" / "dev" / "secrets" / ".gitignore").read_text().split()
    assert "*" in ignored


# -- security context -------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_pod_runs_locked_down(rendered: dict[str, list[Obj]], overlay: str) -> None:
    for where, template in pod_templates(rendered[overlay]):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        writable = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for main in pod["containers"]:
            context = main["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
            assert context.get("privileged", False) is False, where
            tmp = {m["name"] for m in main["volumeMounts"] if m["mountPath"] == "/tmp"}
            assert tmp and tmp <= writable, where
            assert {"cpu", "memory"} <= set(main["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(main["resources"]["limits"]), where


# -- network policies -------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_network_policies_allow_each_service_only_what_it_needs(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    settings = config_map(objects)
    policies = of_kind(objects, "NetworkPolicy")
    deny = policies["tradewind-default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "egress" not in deny and "ingress" not in deny
    dns = policies["tradewind-allow-dns"]["spec"]
    assert {p["port"] for p in dns["egress"][0]["ports"]} == {53}
    for service in SERVICES:
        labels = service_deployment(objects, service)["spec"]["template"]["metadata"]["labels"]
        own = policies_for(objects, labels)
        assert f"tradewind-{service}" in {name_of(p) for p in own}, service
        ports = egress_ports(own)
        assert {5432, 6379, 9092} <= ports, service
        assert (443 in ports) == (service in VENUE_CLIENTS), service
        ingress = [rule for policy in own for rule in policy["spec"].get("ingress", [])]
        monitoring = [
            rule
            for rule in ingress
            if any(
                peer.get("namespaceSelector", {}).get("matchLabels", {})
                == {"kubernetes.io/metadata.name": "monitoring"}
                for peer in rule.get("from", [])
            )
        ]
        assert [p["port"] for r in monitoring for p in r["ports"]] == [
            int(settings["TRADEWIND_HEALTH_PORT"])
        ], service
        open_ports = {p["port"] for rule in ingress if "from" not in rule for p in rule["ports"]}
        expected = {int(settings["TRADEWIND_HTTP_PORT"])} if service == "gateway" else set()
        assert open_ports == expected, service


# -- scaling: production and dev --------------------------------------------------------


def test_production_runs_scaled_services_across_three_zones(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["production"]
    budgets = of_kind(objects, "PodDisruptionBudget")
    for service in SCALED:
        deployment = service_deployment(objects, service)
        assert deployment["spec"]["replicas"] >= 2, service
        pod = deployment["spec"]["template"]
        spread = {c["topologyKey"]: c for c in pod["spec"]["topologySpreadConstraints"]}
        zone = spread["topology.kubernetes.io/zone"]
        assert zone["whenUnsatisfiable"] == "DoNotSchedule", service
        assert zone["maxSkew"] == 1 and zone["minDomains"] == 3, service
        assert "kubernetes.io/hostname" in spread, service
        for constraint in spread.values():
            assert selects(constraint["labelSelector"], pod["metadata"]["labels"]), service
            assert "app.kubernetes.io/name" in constraint["matchLabelKeys"], service
        (budget,) = (
            b for b in budgets.values() if selects(b["spec"]["selector"], pod["metadata"]["labels"])
        )
        assert budget["spec"]["minAvailable"] == 1, service


def test_production_consumers_autoscale_on_consumer_lag(rendered: dict[str, list[Obj]]) -> None:
    autoscalers = of_kind(rendered["production"], "HorizontalPodAutoscaler")
    for service in CONSUMERS:
        autoscaler = autoscalers[f"tradewind-{service}"]["spec"]
        assert autoscaler["scaleTargetRef"]["name"] == f"tradewind-{service}"
        assert autoscaler["minReplicas"] >= 2
        (metric,) = autoscaler["metrics"]
        assert metric["type"] == "External"
        assert metric["external"]["metric"]["name"] == "tradewind_bus_consumer_lag"
        assert metric["external"]["metric"]["selector"]["matchLabels"] == {"group": service}


def test_dev_runs_one_of_each_and_the_simulated_venue(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    for service in SERVICES:
        assert service_deployment(objects, service)["spec"]["replicas"] == 1
    assert not of_kind(objects, "PodDisruptionBudget")
    assert not of_kind(objects, "HorizontalPodAutoscaler")
    venue = of_kind(objects, "Deployment")["tradewind-venue"]["spec"]["template"]["spec"]
    assert venue["containers"][0]["args"][:2] == ["venue", "serve"]
    port = of_kind(objects, "Service")["tradewind-venue"]["spec"]["ports"][0]["port"]
    assert config_map(objects)["TRADEWIND_VENUE_URLS"] == f"sim=http://tradewind-venue:{port}"
    for service in VENUE_CLIENTS:
        labels = service_deployment(objects, service)["spec"]["template"]["metadata"]["labels"]
        assert port in egress_ports(policies_for(objects, labels)), service


# -- migrations and the KMS example -----------------------------------------------------


@pytest.mark.parametrize("overlay", list(RENDERED))
def test_the_migration_job_runs_db_upgrade_as_a_pre_deploy_step(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    job = of_kind(rendered[overlay], "Job")["tradewind-migrate"]
    assert container(job)["args"] == ["db", "upgrade"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_external_kms_example_fills_the_secrets_the_services_mount(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["external-kms"]
    synced = {
        (e["spec"]["target"]["name"], d["secretKey"])
        for e in objects
        if e["kind"] == "ExternalSecret"
        for d in e["spec"]["data"]
    }
    assert synced == {
        ("tradewind-master-keys", "TRADEWIND_MASTER_KEYS"),
        ("tradewind-jwt", "TRADEWIND_JWT_SECRET"),
    }
    volume = next(
        v
        for v in service_deployment(objects, "gateway")["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "secrets"
    )
    mounted = {
        (s["secret"]["name"], item["key"])
        for s in volume["projected"]["sources"]
        for item in s["secret"]["items"]
    }
    assert synced <= mounted
