"""A small Kustomize renderer for the tests: resources (files and directories),
strategic-merge `patches`, `images` and `namespace`: the subset deploy/kustomize uses.
Anything else in a kustomization fails the render, so the manifests cannot drift into
features these tests do not check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZE = DEPLOY / "kustomize"
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "patches", "images", "namespace"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}

# Lists that Kubernetes' strategic merge merges by a key instead of replacing.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "topologySpreadConstraints": "topologyKey",
    "imagePullSecrets": "name",
}


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def merge(base: Any, patch: Any, field: str | None = None) -> Any:
    """Strategic merge of `patch` onto `base` (a copy is returned)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(out[key], value, key) if key in out else copy.deepcopy(value)
        return out
    key = MERGE_KEYS.get(field or "")
    if isinstance(base, list) and isinstance(patch, list) and key:
        out = copy.deepcopy(base)
        for item in patch:
            at = next((i for i, b in enumerate(out) if b.get(key) == item.get(key)), None)
            if at is None:
                out.insert(0, copy.deepcopy(item))  # new items first, as kustomize does
            else:
                out[at] = merge(out[at], item)
        return out
    return copy.deepcopy(patch)


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = resource.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _set_image(container: dict[str, Any], images: list[dict[str, Any]]) -> None:
    name, _, tag = container["image"].partition(":")
    for entry in images:
        if entry["name"] == name:
            container["image"] = f"{entry.get('newName', name)}:{entry.get('newTag', tag or 'latest')}"


def build(directory: Path) -> list[dict[str, Any]]:
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and k["kind"] == "Kustomization"
    unsupported = set(k) - SUPPORTED_FIELDS
    assert not unsupported, f"{directory}: kustomization fields the tests do not render: {unsupported}"
    resources: list[dict[str, Any]] = []
    for entry in k.get("resources", []):
        path = (directory / entry).resolve()
        resources += build(path) if path.is_dir() else load_docs(path)
    for patch in k.get("patches", []):
        assert set(patch) == {"path"}, f"{directory}: only strategic-merge patch files are used"
        for doc in load_docs(directory / patch["path"]):
            ident = (doc["kind"], doc["metadata"]["name"])
            at = next((i for i, r in enumerate(resources) if (r["kind"], r["metadata"]["name"]) == ident), None)
            assert at is not None, f"{directory / patch['path']} patches {ident}, which does not exist"
            resources[at] = merge(resources[at], doc)
    for resource in resources:
        for container in containers(resource):
            _set_image(container, k.get("images", []))
        if k.get("namespace") and resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = k["namespace"]
    return resources


def overlays() -> list[Path]:
    return sorted(p for p in (KUSTOMIZE / "overlays").iterdir() if (p / "kustomization.yaml").exists())
