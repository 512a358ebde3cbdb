"""Every Kustomize directory rendered by a real `kubectl kustomize`, every object validated
against its Kubernetes JSON schema, and the render compared with the tests' own renderer
(tests/deploy/kustomize.py), whose output the other manifest tests check.

- kubectl: the machine's, or Debian's `kubernetes-client` installed through tests/apt.py.
  Debian 12's is 1.20 (kustomize 2.0.3), which predates the `patches` field: the render
  then fails with that said, rather than passing on an old dialect.
- Schemas: `kubernetes-validate` (PyPI; it bundles the OpenAPI schemas of each Kubernetes
  release) in strict mode, so unknown fields fail too, against the oldest release we
  support and the newest it knows.
- ServiceMonitor is a custom resource: no Kubernetes release has its schema. It is checked
  against tests/deploy/schemas/servicemonitor.schema.json, written from the Prometheus
  Operator's API reference for the fields deploy/kustomize uses, unknown fields refused.

Without kubectl these tests skip with a loud banner; with CI=true they fail.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests import apt
from tests.deploy.kustomize import KUSTOMIZE, build
from tests.deploy.test_manifests import RENDERS
from tests.required import found_or_skip

OLDEST_KUBERNETES = "1.30.0"
KUBERNETES = [OLDEST_KUBERNETES, kubernetes_validate.latest_version()]
CUSTOM_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): Path(__file__).parent / "schemas/servicemonitor.schema.json"
}


@pytest.fixture(scope="module")
def kubectl(request: pytest.FixtureRequest) -> str:
    exe, why = apt.ensure("kubernetes-client", ["kubectl"])
    return found_or_skip(request.config, exe, why, "kubectl", "the kubectl render tests are")


def kubectl_render(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    version = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed ({version.stdout.strip()}): {done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d is not None]


@functools.cache
def custom_schema(api_version: str, kind: str) -> dict[str, Any]:
    return json.loads(CUSTOM_SCHEMAS[(api_version, kind)].read_text())


def validate(obj: dict[str, Any]) -> None:
    """Raises when the object does not match its schema, for each Kubernetes release."""
    if (obj["apiVersion"], obj["kind"]) in CUSTOM_SCHEMAS:
        jsonschema.validate(obj, custom_schema(obj["apiVersion"], obj["kind"]))
        return
    for version in KUBERNETES:
        kubernetes_validate.validate(obj, version, strict=True)


def ident(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_kubectl_renders_and_every_object_validates(kubectl: str, name: str) -> None:
    objs = kubectl_render(kubectl, RENDERS[name])
    assert objs
    for obj in objs:
        try:
            validate(obj)
        except Exception as exc:  # the schema error, named by object
            raise AssertionError(f"{name}: {ident(obj)} is invalid: {exc}") from exc
    assert not [o for o in objs if o["kind"] == "Secret"]


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_kubectl_and_the_tests_renderer_agree(kubectl: str, name: str) -> None:
    theirs = {ident(o): o for o in kubectl_render(kubectl, RENDERS[name])}
    ours = {ident(o): o for o in build(RENDERS[name])}
    assert set(theirs) == set(ours)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{name}: {key} differs between kubectl and tests/deploy/kustomize.py"


def test_the_validation_refuses_what_a_cluster_would(kubectl: str) -> None:
    """The checks can fail: a misspelt field, a wrong type, a bad ServiceMonitor."""
    objs = {ident(o): o for o in kubectl_render(kubectl, KUSTOMIZE / "overlays" / "production")}
    deployment = json.loads(json.dumps(objs[("Deployment", "perf-service-api")]))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # `resources` misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    policy = json.loads(json.dumps(objs[("NetworkPolicy", "perf-service-app-egress")]))
    policy["spec"]["egress"][0]["ports"][0]["port"] = 53.5
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(policy)
    monitor = json.loads(json.dumps(objs[("ServiceMonitor", "perf-service")]))
    for broken in ({"interval": "30 seconds"}, {"pathh": "/metrics"}, {"path": "metrics"}):
        bad = json.loads(json.dumps(monitor))
        bad["spec"]["endpoints"][0].update(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)
    del monitor["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)
