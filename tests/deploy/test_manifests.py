"""deploy/kustomize: every manifest parses, the base and each overlay render (a small
strategic merge), and the rendered objects are consistent with each other and with the
application: kinds and API versions, labels and selectors, probes on real routes, ports,
environment names that are real settings, one image, a hardened security context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli import build_parser
from service.config import Settings
from tests.deploy.kustomize import DEPLOY, KUSTOMIZE, build, containers, load_docs, merge, overlays

API_VERSIONS = {
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
SETTINGS = {name.upper() for name in Settings.model_fields}
# Environment variables read by libraries rather than by service/config.py.
LIBRARY_ENV = {
    "PROMETHEUS_MULTIPROC_DIR",  # prometheus_client's multiprocess directory (gunicorn)
    "OTEL_EXPORTER_OTLP_ENDPOINT",  # the OpenTelemetry SDK's OTLP exporter
}
RENDERS = {"base": KUSTOMIZE / "base", **{p.name: p for p in overlays()}}
# The keys of the Secret `perf-service-secrets` that operators create (never rendered):
# docs/operations.md, "Secrets". MIGRATE_DATABASE_URL is read by the production migration
# Job only (it bypasses PgBouncer); the others are settings.
SECRET = "perf-service-secrets"
SECRET_KEYS = {"DATABASE_URL", "DATABASE_READ_URL", "JWT_SECRET", "WEBHOOK_SECRET_KEY", "MIGRATE_DATABASE_URL"}
APP_COMPONENTS = {"api", "worker", "migrate"}


def test_overlays_exist() -> None:
    assert {"staging", "production"} <= set(RENDERS)


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_manifest_parses_with_a_known_kind(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    if path.name == "docker-compose.yml":
        return
    for doc in docs:
        assert doc["kind"] in API_VERSIONS, doc["kind"]
        assert doc["apiVersion"] == API_VERSIONS[doc["kind"]], (path, doc["kind"])
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]


def rendered(name: str) -> list[dict[str, Any]]:
    return build(RENDERS[name])


def one(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def component(resource: dict[str, Any]) -> str | None:
    return resource["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_render_has_every_part_once(name: str) -> None:
    objs = rendered(name)
    idents = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(idents) == len(set(idents)), "duplicate objects"
    for kind, obj_name in [
        ("Deployment", "perf-service-api"),
        ("Deployment", "perf-service-worker"),
        ("Job", "perf-service-migrate"),
        ("Service", "perf-service"),
        ("HorizontalPodAutoscaler", "perf-service-api"),
        ("PodDisruptionBudget", "perf-service-api"),
        ("ConfigMap", "perf-service-config"),
        ("ServiceAccount", "perf-service"),
        ("Service", "perf-service-api-metrics"),
        ("Service", "perf-service-worker-metrics"),
        ("ServiceMonitor", "perf-service"),
        ("NetworkPolicy", "perf-service-default-deny"),
        ("NetworkPolicy", "perf-service-api-ingress"),
        ("NetworkPolicy", "perf-service-app-egress"),
    ]:
        one(objs, kind, obj_name)
    assert not [o for o in objs if o["kind"] == "Secret"], "a rendered Secret would overwrite the real one"
    for o in objs:
        assert o["metadata"]["labels"]["app.kubernetes.io/name"] == "perf-service"
        if name != "base":
            assert o["metadata"]["namespace"] == f"perf-service{'' if name == 'production' else '-' + name}"


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_selectors_match_labels(name: str) -> None:
    objs = rendered(name)
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    for d in deployments:
        assert selects(d["spec"]["selector"]["matchLabels"], pod_labels(d)), d["metadata"]["name"]
    api, worker = one(objs, "Deployment", "perf-service-api"), one(objs, "Deployment", "perf-service-worker")
    service = one(objs, "Service", "perf-service")
    assert selects(service["spec"]["selector"], pod_labels(api))
    assert not selects(service["spec"]["selector"], pod_labels(worker)), "the Service must not reach workers"
    for pdb in (o for o in objs if o["kind"] == "PodDisruptionBudget"):
        matched = [d for d in deployments if selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(d))]
        assert len(matched) == 1, pdb["metadata"]["name"]
        assert ("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"])
    job = one(objs, "Job", "perf-service-migrate")
    assert not any(
        selects(d["spec"]["selector"]["matchLabels"], job["spec"]["template"]["metadata"]["labels"])
        for d in deployments
    ), "migration pods must not be counted as API or worker pods"


@pytest.mark.parametrize("name", sorted(RENDERS))
async def test_api_probes_ports_and_scaling(name: str, client) -> None:
    objs = rendered(name)
    api = one(objs, "Deployment", "perf-service-api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        http = container[probe]["httpGet"]
        answer = await client.get(http["path"])
        assert answer.status_code == 200, f"{probe} {http['path']}: {answer.status_code}"
        assert http["port"] in ports
    config = one(objs, "ConfigMap", "perf-service-config")["data"]
    assert ports["http"] == int(config.get("PORT", Settings.model_fields["port"].default))
    service = one(objs, "Service", "perf-service")
    assert all(p["targetPort"] in ports for p in service["spec"]["ports"])
    hpa = one(objs, "HorizontalPodAutoscaler", "perf-service-api")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "perf-service-api")
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in api["spec"], "the HPA owns the API's replica count"
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_commands_are_real(name: str) -> None:
    objs = rendered(name)
    parser = build_parser()
    (api,) = one(objs, "Deployment", "perf-service-api")["spec"]["template"]["spec"]["containers"]
    assert api["command"] == ["gunicorn", "-c", "python:service.web.gunicorn_conf", "service.web.app:create_app()"]
    for kind, obj_name, sub in [
        ("Deployment", "perf-service-worker", "worker"),
        ("Job", "perf-service-migrate", "migrate"),
    ]:
        (c,) = one(objs, kind, obj_name)["spec"]["template"]["spec"]["containers"]
        assert c["command"][:3] == ["python", "-m", "service"]
        assert c["command"][3] == sub
        assert parser.parse_args(c["command"][3:]).command == sub
    job = one(objs, "Job", "perf-service-migrate")
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    worker = one(objs, "Deployment", "perf-service-worker")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in worker.get("env", [])}
    assert int(env["WORKER_METRICS_PORT"]) in {p["containerPort"] for p in worker["ports"]}
    assert worker["livenessProbe"]["tcpSocket"]["port"] in {p["name"] for p in worker["ports"]}


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_environment_names_are_settings(name: str) -> None:
    objs = rendered(name)
    config = one(objs, "ConfigMap", "perf-service-config")
    names = set(config["data"]) | (SECRET_KEYS - {"MIGRATE_DATABASE_URL"})
    refs = {("ConfigMap", config["metadata"]["name"]), ("Secret", SECRET)}
    for o in objs:
        for c in containers(o):
            names |= {e["name"] for e in c.get("env", [])}
            for source in c.get("envFrom", []):
                kind = "ConfigMap" if "configMapRef" in source else "Secret"
                ref = source.get("configMapRef") or source.get("secretRef")
                assert (kind, ref["name"]) in refs, f"{o['metadata']['name']} reads a missing {kind}"
            for e in c.get("env", []):
                secret_ref = e.get("valueFrom", {}).get("secretKeyRef")
                if secret_ref:
                    assert secret_ref["name"] == SECRET and secret_ref["key"] in SECRET_KEYS, e
    unknown = names - SETTINGS - LIBRARY_ENV
    assert not unknown, f"not settings of service/config.py: {sorted(unknown)}"
    assert not (SECRET_KEYS & set(config["data"])), "credentials belong in the Secret"
    for value in config["data"].values():
        assert isinstance(value, str), "ConfigMap values must be strings"


def test_the_documented_secret_keys_are_the_ones_read() -> None:
    text = (DEPLOY.parent / "docs" / "operations.md").read_text()
    for key in SECRET_KEYS:
        assert f"`{key}`" in text, f"docs/operations.md does not say the Secret holds {key}"
    assert f"create secret generic {SECRET}" in text
    assert {"DATABASE_URL", "JWT_SECRET"} <= SETTINGS


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_one_image_everywhere(name: str) -> None:
    objs = rendered(name)
    images = {c["image"] for o in objs if component(o) in APP_COMPONENTS for c in containers(o)}
    assert len(images) == 1, images
    (image,) = images
    k = yaml.safe_load((RENDERS[name] / "kustomization.yaml").read_text())
    entry = k["images"][0]
    assert entry["name"] == "perf-service"
    assert image == f"{entry.get('newName', 'perf-service')}:{entry['newTag']}"


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_pods_are_hardened_and_sized(name: str) -> None:
    objs = rendered(name)
    for o in objs:
        if o["kind"] not in ("Deployment", "Job"):
            continue
        pod = o["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "perf-service"
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["runAsNonRoot"] is True and sc["capabilities"]["drop"] == ["ALL"]
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][part]), (o["metadata"]["name"], part)
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, "a writable /tmp on a read-only root file system"
            assert set(mounts.values()) <= volumes


def test_overlays_change_what_they_say() -> None:
    prod, staging = rendered("production"), rendered("staging")
    assert one(prod, "ConfigMap", "perf-service-config")["data"]["DB_PGBOUNCER"] == "true"
    assert one(prod, "HorizontalPodAutoscaler", "perf-service-api")["spec"]["minReplicas"] >= 3
    assert one(staging, "HorizontalPodAutoscaler", "perf-service-api")["spec"]["minReplicas"] == 1
    assert one(staging, "Deployment", "perf-service-worker")["spec"]["replicas"] == 1
    api = one(prod, "Deployment", "perf-service-api")["spec"]["template"]["spec"]
    keys = [t["topologyKey"] for t in api["topologySpreadConstraints"]]
    assert sorted(keys) == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    env = {e["name"] for e in api["containers"][0]["env"]}
    assert {"PROMETHEUS_MULTIPROC_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT"} <= env, "patches merge env by name"


def test_strategic_merge_merges_lists_by_key_and_replaces_others() -> None:
    base = {
        "spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}], "args": ["1", "2"]}
    }
    patch = {
        "spec": {
            "containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}, {"name": "b", "image": "y"}],
            "args": ["3"],
        }
    }
    out = merge(base, patch)
    assert [c["name"] for c in out["spec"]["containers"]] == ["b", "a"]
    a = out["spec"]["containers"][1]
    assert a["image"] == "x" and {e["name"] for e in a["env"]} == {"A", "B"}
    assert out["spec"]["args"] == ["3"]
    assert base["spec"]["args"] == ["1", "2"], "the base is not modified"


def test_a_patch_of_a_missing_resource_fails_the_render(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [str(KUSTOMIZE / "base")],
                "patches": [{"path": "p.yaml"}],
            }
        )
    )
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nope"}})
    )
    with pytest.raises(AssertionError, match="does not exist"):
        build(tmp_path)
