"""The rendered NetworkPolicies, metrics Services, ServiceMonitor and PgBouncer, checked
against the pods they are about: a small evaluator of NetworkPolicy semantics answers
"may this peer open that port on this pod" for the real pod templates, so a selector that
matches no pod or a port name no container has is a failing test, not a silent deny."""

from __future__ import annotations

import configparser
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.deploy.kustomize import DEPLOY, containers
from tests.deploy.test_manifests import RENDERS, one, rendered

NAMESPACE = "perf-service"


@dataclass(frozen=True)
class Peer:
    """A pod (namespace and labels, its named container ports) or an address outside."""

    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    ip: str | None = None


INGRESS_CONTROLLER = Peer("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = Peer("monitoring", {"app.kubernetes.io/name": "prometheus"})
OTHER_POD = Peer("default", {"app": "anything"})
DNS = Peer("kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
PUBLIC = Peer(ip="93.184.216.34")
METADATA = Peer(ip="169.254.169.254")
PRIVATE = Peer(ip="10.1.2.3")


def pods(objs: list[dict[str, Any]]) -> dict[str, Peer]:
    """The pod templates of the render by component, as peers in the namespace."""
    out = {}
    for o in objs:
        if o["kind"] in ("Deployment", "Job"):
            labels = o["spec"]["template"]["metadata"]["labels"]
            ports = {p["name"]: p["containerPort"] for c in containers(o) for p in c.get("ports", [])}
            out[labels["app.kubernetes.io/component"]] = Peer(NAMESPACE, labels, ports)
    return out


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] in ("In", "NotIn"), expr
        inside = labels.get(expr["key"]) in expr["values"]
        if inside != (expr["operator"] == "In"):
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False
        ip = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        nets = [ipaddress.ip_network(n) for n in block.get("except", [])]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(ip in n for n in nets if n.version == ip.version)
    if peer.ip is not None:
        return False
    ns = rule_peer.get("namespaceSelector")
    if ns is None and peer.namespace != NAMESPACE:
        return False
    if ns is not None and not selects(ns, {"kubernetes.io/metadata.name": peer.namespace}):
        return False
    return selects(rule_peer.get("podSelector", {}), peer.labels)


def port_matches(rule: dict[str, Any], port: int, target: Peer) -> bool:
    if "ports" not in rule:
        return True
    for p in rule["ports"]:
        number = target.ports.get(p["port"]) if isinstance(p["port"], str) else p["port"]
        if number == port:
            return True
    return False


def side_allows(policies: list[dict[str, Any]], pod: Peer, direction: str, other: Peer, port: int, dst: Peer) -> bool:
    """Whether the policies selecting `pod` let traffic through in `direction`
    (`ingress` from `other`, or `egress` to it)."""
    kind = direction.capitalize()
    chosen = [p for p in policies if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod.labels)]
    if not chosen:
        return True  # isolated by no policy in that direction
    key = "from" if direction == "ingress" else "to"
    for policy in chosen:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get(key)
            if (peers is None or any(peer_matches(rp, other) for rp in peers)) and port_matches(rule, port, dst):
                return True
    return False


def allowed(objs: list[dict[str, Any]], src: Peer, dst: Peer, port: int | str) -> bool:
    number = dst.ports[port] if isinstance(port, str) else port
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    egress = src.namespace != NAMESPACE or side_allows(policies, src, "egress", dst, number, dst)
    ingress = dst.namespace != NAMESPACE or side_allows(policies, dst, "ingress", src, number, dst)
    return egress and ingress


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_every_policy_selects_real_pods_and_ports(name: str) -> None:
    objs = rendered(name)
    templates = pods(objs)
    for policy in (o for o in objs if o["kind"] == "NetworkPolicy"):
        selected = [p for p in templates.values() if selects(policy["spec"]["podSelector"], p.labels)]
        assert selected, f"{policy['metadata']['name']} selects no pod"
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                if isinstance(port["port"], str):
                    assert all(port["port"] in p.ports for p in selected), (policy["metadata"]["name"], port)
        for rule in policy["spec"].get("egress", []):
            for rp in rule.get("to", []):
                if "podSelector" in rp and "namespaceSelector" not in rp:
                    targets = [p for p in templates.values() if selects(rp["podSelector"], p.labels)]
                    assert targets, f"{policy['metadata']['name']}: an egress rule to no pod"
                    for port in rule.get("ports", []):
                        assert all(port["port"] in (*t.ports, *t.ports.values()) for t in targets), port
    deny = one(objs, "NetworkPolicy", "perf-service-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny["spec"]
    assert all(selects(deny["spec"]["podSelector"], p.labels) for p in templates.values())


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_who_reaches_the_api_and_the_worker(name: str) -> None:
    objs = rendered(name)
    p = pods(objs)
    api, worker = p["api"], p["worker"]
    assert allowed(objs, INGRESS_CONTROLLER, api, "http")
    assert not allowed(objs, INGRESS_CONTROLLER, api, "metrics"), "metrics stay off the ingress"
    assert allowed(objs, PROMETHEUS, api, "metrics") and allowed(objs, PROMETHEUS, worker, "metrics")
    assert not allowed(objs, PROMETHEUS, api, "http")
    for src in (OTHER_POD, worker, p["migrate"]):
        assert not allowed(objs, src, api, "http")
    assert not allowed(objs, INGRESS_CONTROLLER, worker, "metrics")
    assert not allowed(objs, OTHER_POD, worker, "metrics")


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_where_the_pods_may_connect(name: str) -> None:
    objs = rendered(name)
    p = pods(objs)
    for component in ("api", "worker", "migrate"):
        assert allowed(objs, p[component], DNS, 53), component
        assert not allowed(objs, p[component], PRIVATE, 443), "no HTTPS into private networks"
        assert not allowed(objs, p[component], METADATA, 80) and not allowed(objs, p[component], METADATA, 443)
        assert not allowed(objs, p[component], OTHER_POD, 8080)
        assert not allowed(objs, p[component], PUBLIC, 80)
    for component in ("api", "worker"):  # webhook deliveries
        assert allowed(objs, p[component], PUBLIC, 443), component
    assert not allowed(objs, p["migrate"], PUBLIC, 443)
    database = Peer(ip="10.20.30.40")  # PostgreSQL, wherever it is
    assert allowed(objs, p["migrate"], database, 5432)
    if "pgbouncer" in p:
        bouncer = p["pgbouncer"]
        for component in ("api", "worker", "migrate"):
            assert allowed(objs, p[component], bouncer, "postgres"), component
        assert not allowed(objs, OTHER_POD, bouncer, "postgres")
        assert not allowed(objs, INGRESS_CONTROLLER, bouncer, "postgres")
        assert allowed(objs, bouncer, database, 5432) and allowed(objs, bouncer, DNS, 53)
        assert not allowed(objs, bouncer, PUBLIC, 443)
        for component in ("api", "worker"):
            assert not allowed(objs, p[component], database, 5432), "through PgBouncer only"
    else:
        for component in ("api", "worker"):
            assert allowed(objs, p[component], database, 5432), component


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_metrics_are_served_only_by_the_metrics_services(name: str) -> None:
    objs = rendered(name)
    p = pods(objs)
    api = one(objs, "Deployment", "perf-service-api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["METRICS_PORT"]) == p["api"].ports["metrics"] != p["api"].ports["http"]
    public = one(objs, "Service", "perf-service")
    assert [port["targetPort"] for port in public["spec"]["ports"]] == ["http"], "the ingress's Service: http only"
    monitor = one(objs, "ServiceMonitor", "perf-service")
    services = [
        o for o in objs if o["kind"] == "Service" and selects(monitor["spec"]["selector"], o["metadata"]["labels"])
    ]
    assert sorted(s["metadata"]["name"] for s in services) == [
        "perf-service-api-metrics",
        "perf-service-worker-metrics",
    ]
    endpoint_ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    for service in services:
        assert service["spec"]["clusterIP"] == "None"
        assert {port["name"] for port in service["spec"]["ports"]} == endpoint_ports == {"metrics"}
        targets = [t for t in p.values() if selects({"matchLabels": service["spec"]["selector"]}, t.labels)]
        assert len(targets) == 1
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in targets[0].ports
    assert all(e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])


def pgbouncer_ini(objs: list[dict[str, Any]]) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(comment_prefixes=(";", "#"), interpolation=None)
    ini.read_string(one(objs, "ConfigMap", "perf-service-pgbouncer")["data"]["pgbouncer.ini"])
    return ini


def test_pgbouncer_in_production_only_and_in_transaction_mode() -> None:
    prod, staging = rendered("production"), rendered("staging")
    assert one(prod, "ConfigMap", "perf-service-config")["data"]["DB_PGBOUNCER"] == "true"
    assert one(staging, "ConfigMap", "perf-service-config")["data"].get("DB_PGBOUNCER", "false") == "false"
    assert "pgbouncer" not in pods(staging)
    deployment = one(prod, "Deployment", "perf-service-pgbouncer")
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    image, _, tag = c["image"].partition(":")
    assert image == "edoburu/pgbouncer" and tag and tag != "latest", "pinned by tag"
    ini = pgbouncer_ini(prod)
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert int(ini["pgbouncer"]["listen_port"]) == pods(prod)["pgbouncer"].ports["postgres"]
    assert ini["pgbouncer"]["auth_file"].startswith("/etc/pgbouncer/")
    assert c["command"][-1] == "/etc/pgbouncer/pgbouncer.ini"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    (config,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mounts["/etc/pgbouncer"]]
    files = {i["path"] for s in config["projected"]["sources"] for part in s.values() for i in part["items"]}
    assert files == {"pgbouncer.ini", ini["pgbouncer"]["auth_file"].removeprefix("/etc/pgbouncer/")}
    assert c["readinessProbe"]["tcpSocket"]["port"] == "postgres" and c["livenessProbe"]
    service = one(prod, "Service", "perf-service-pgbouncer")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["postgres"]
    assert not [o for o in prod if o["kind"] == "Secret"], "the PgBouncer credentials are not rendered either"
    job = one(prod, "Job", "perf-service-migrate")["spec"]["template"]["spec"]["containers"][0]
    (url,) = [e for e in job["env"] if e["name"] == "DATABASE_URL"]
    assert url["valueFrom"]["secretKeyRef"]["key"] == "MIGRATE_DATABASE_URL", "migrations bypass the pool"


def test_compose_puts_pgbouncer_between_the_app_and_postgresql() -> None:
    import yaml

    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    bouncer = services["pgbouncer"]
    image, _, tag = bouncer["image"].partition(":")
    assert image == "edoburu/pgbouncer" and tag and tag != "latest"
    env = bouncer["environment"]
    assert env["POOL_MODE"] == "transaction" and env["DB_HOST"] == "db"
    assert bouncer["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        app = services[name]["environment"]
        assert f"@pgbouncer:{env['LISTEN_PORT']}/" in app["DATABASE_URL"] and app["DB_PGBOUNCER"] == "true"
        assert services[name]["depends_on"]["pgbouncer"] == {"condition": "service_healthy"}
    assert "@db:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    (mount,) = bouncer["volumes"]
    source = mount.split(":")[0]
    user, password = (DEPLOY / source).read_text().split()
    db = services["db"]["environment"]
    assert (user.strip('"'), password.strip('"')) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"])
    api = services["api"]
    metrics = api["environment"]["METRICS_PORT"]
    assert f"127.0.0.1:{metrics}:{metrics}" in api["ports"], "metrics published on loopback only"
