"""Loader for the conformance vectors in `tests/scoring/vectors/*.json`.

The format is described in `vectors/README.md`. This module turns a vector into the
engine's frozen dataclasses and compares the engine's results with the expected values,
rounded as SPEC section 3 says (points 2 places, fractions 4 places, ROUND_HALF_UP).
Rounding here is done independently of `service.scoring.numbers`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from service.scoring.engine import (
    Adjustment,
    AssignmentIn,
    CheckIn,
    Distribution,
    EmployeeInputs,
    KeyResultIn,
    Measurement,
    Milestone,
    ObjectiveIn,
    PolicyParams,
    ScoreResult,
)

VECTOR_DIR = Path(__file__).parent / "vectors"
FORMAT = "perf-scoring-vectors/1"
KINDS = ("employee", "distribution", "pace")
_NAMESPACE = uuid.UUID("6f1f1d2e-3c55-4c1e-9a57-2b0f3c1a9e01")
_POINTS_RE = re.compile(r"^-?\d+\.\d{2}$")
_FRACTION_RE = re.compile(r"^-?\d+\.\d{4}$")
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


class VectorFormatError(ValueError):
    pass


def _no_json_numbers(text: str) -> None:
    raise VectorFormatError(f"JSON number {text!r}: every number in a vector is a string")


def load_file(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"), parse_int=_no_json_numbers, parse_float=_no_json_numbers)
    if data.get("format") != FORMAT:
        raise VectorFormatError(f"{path.name}: format must be {FORMAT!r}")
    vectors = data["vectors"]
    for v in vectors:
        if v.get("kind") not in KINDS:
            raise VectorFormatError(f"{path.name}/{v.get('name')}: unknown kind {v.get('kind')!r}")
        v["_file"] = path.name
    return vectors


def load_all() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = []
    for path in sorted(VECTOR_DIR.glob("*.json")):
        vectors.extend(load_file(path))
    names = [v["name"] for v in vectors]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise VectorFormatError(f"duplicate vector names: {duplicates}")
    return vectors


# ------------------------------------------------------------------ rounding (SPEC 3)


def points(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fraction(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def as_places_of(value: Decimal, expected: str) -> Decimal:
    """`value` rounded half-up to as many decimal places as `expected` is written with."""
    places = len(expected.split(".", 1)[1]) if "." in expected else 0
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ building inputs


def dec(value: str | None) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NUMBER_RE.match(value):
        raise VectorFormatError(f"not a decimal string: {value!r}")
    return Decimal(value)


def date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def timestamp(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise VectorFormatError(f"timestamp without a zone: {value!r}")
    return parsed


def uid(kind: str, local_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{local_id}")


def build_policy(p: dict[str, Any]) -> PolicyParams:
    kwargs: dict[str, Any] = {k: dec(p[k]) for k in ("w_kpi", "w_okr", "w_eval")}
    for key in (
        "okr_par_committed",
        "okr_par_aspirational",
        "okr_cap",
        "kpi_threshold_points",
        "kpi_target_points",
        "kpi_cap",
        "peer_weight",
    ):
        if key in p:
            kwargs[key] = dec(p[key])
    if "rating_scale" in p:
        kwargs["rating_scale"] = int(p["rating_scale"])
    if "bands" in p:
        kwargs["bands"] = tuple((name, dec(minimum)) for name, minimum in p["bands"])
    unknown = set(p) - set(kwargs)
    if unknown:
        raise VectorFormatError(f"unknown policy keys {sorted(unknown)}")
    return PolicyParams(**kwargs)


def build_measurement(m: dict[str, Any]) -> Measurement:
    return Measurement(
        value=dec(m["value"]),
        measured_at=date(m["measured_at"]),
        created_at=timestamp(m["created_at"]) if m.get("created_at") else None,
    )


def build_assignment(a: dict[str, Any]) -> AssignmentIn:
    return AssignmentIn(
        id=uid("kpi", a["id"]),
        code=a["id"],
        method=a["method"],
        direction=a["direction"],
        aggregation=a["aggregation"],
        weight=dec(a.get("weight", "1")),
        threshold=dec(a.get("threshold")),
        target=dec(a.get("target")),
        stretch=dec(a.get("stretch")),
        range_low=dec(a.get("range_low")),
        range_high=dec(a.get("range_high")),
        tolerance=dec(a.get("tolerance")),
        veto=bool(a.get("veto", False)),
        rewardable=bool(a.get("rewardable", False)),
        measurements=tuple(build_measurement(m) for m in a.get("measurements", [])),
    )


def build_check_in(c: dict[str, Any]) -> CheckIn:
    checked_in_at = timestamp(c["checked_in_at"])
    return CheckIn(
        checked_in_at=checked_in_at,
        created_at=timestamp(c["created_at"]) if c.get("created_at") else checked_in_at,
        value=dec(c.get("value")),
        done=c.get("done"),
    )


def build_key_result(k: dict[str, Any]) -> KeyResultIn:
    return KeyResultIn(
        id=uid("kr", k["id"]),
        title=k["id"],
        kind=k["kind"],
        weight=dec(k.get("weight", "1")),
        start=dec(k.get("start")),
        target=dec(k.get("target")),
        check_ins=tuple(build_check_in(c) for c in k.get("check_ins", [])),
        milestones=tuple(Milestone(weight=dec(m["weight"]), done=bool(m["done"])) for m in k.get("milestones", [])),
        grade=dec(k.get("grade")),
    )


def build_objective(o: dict[str, Any]) -> ObjectiveIn:
    return ObjectiveIn(
        id=uid("objective", o["id"]),
        title=o["id"],
        type=o["type"],
        weight=dec(o.get("weight", "1")),
        status=o.get("status", "published"),
        key_results=tuple(build_key_result(k) for k in o.get("key_results", [])),
    )


def build_inputs(v: dict[str, Any]) -> EmployeeInputs:
    return EmployeeInputs(
        employee_id=uid("employee", v["name"]),
        objectives=tuple(build_objective(o) for o in v.get("objectives", [])),
        assignments=tuple(build_assignment(a) for a in v.get("kpis", [])),
        manager_rating=dec(v.get("manager_rating")),
        peer_ratings=tuple(dec(r) for r in v.get("peer_ratings", [])),
        adjustments=tuple(
            Adjustment(delta=dec(a["delta"]), reason=a.get("reason", ""), author=a.get("author", ""))
            for a in v.get("adjustments", [])
        ),
        cycle_start=date(v["cycle"]["start"]),
        cycle_end=date(v["cycle"]["end"]),
    )


def build_distribution(d: dict[str, Any]) -> Distribution:
    return Distribution(mode=d["mode"], bands=tuple((name, dec(pct)) for name, pct in d["bands"]))


# ------------------------------------------------------------------ comparing


class Mismatches:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[str] = []

    def check(self, what: str, got: object, want: object) -> None:
        if got != want:
            self.items.append(f"{what}: got {got!r}, expected {want!r}")

    def points(self, what: str, got: Decimal | None, want: str | None) -> None:
        if want is not None and not _POINTS_RE.match(want):
            raise VectorFormatError(f"{self.name} {what}: points must have 2 places, got {want!r}")
        self.check(what, None if got is None else str(points(got)), want)

    def fraction(self, what: str, got: Decimal | None, want: str | None) -> None:
        if want is not None and not _FRACTION_RE.match(want):
            raise VectorFormatError(f"{self.name} {what}: fractions must have 4 places, got {want!r}")
        self.check(what, None if got is None else str(fraction(got)), want)

    def raw(self, what: str, got: Decimal | None, want: str | None) -> None:
        if want is None or got is None:
            self.check(what, got, want)
        else:
            self.check(what, str(as_places_of(got, want)), want)

    def assert_none(self) -> None:
        assert not self.items, f"vector {self.name}:\n  " + "\n  ".join(self.items)


def compare_employee(v: dict[str, Any], result: ScoreResult) -> Mismatches:
    exp = v["expected"]
    out = Mismatches(v["name"])
    out.check("status", result.status, exp["status"])
    for c, want in exp["components"].items():
        out.points(f"components.{c}", result.components[c], want)
    for c, want in exp.get("weights", {}).items():
        out.fraction(f"weights.{c}", result.weights[c], want)
    out.points("composite", result.composite, exp["composite"])
    out.points("final", result.final, exp["final"])
    out.check("rating", result.rating, exp["rating"])
    # insufficient_data is the status; whether it is also repeated as a flag is not checked.
    out.check("flags", sorted(set(result.flags) - {"insufficient_data"}), sorted(exp["flags"]))

    components = result.explanation["components"]
    by_kpi = {a["id"]: a for a in components["kpi"]["assignments"]}
    for local_id, want in exp.get("kpis", {}).items():
        got = by_kpi.get(str(uid("kpi", local_id)))
        if got is None:
            out.items.append(f"kpis.{local_id}: missing from the explanation")
            continue
        if "actual" in want:
            out.raw(f"kpis.{local_id}.actual", got["actual"], want["actual"])
        out.points(f"kpis.{local_id}.points", got["points"], want["points"])
        if "missing_data" in want:
            out.check(f"kpis.{local_id}.missing_data", got["missing_data"], want["missing_data"])

    objectives = {o["id"]: o for o in components["okr"]["objectives"]}
    key_results = {k["id"]: k for o in objectives.values() for k in o["key_results"]}
    for local_id, want in exp.get("objectives", {}).items():
        got = objectives.get(str(uid("objective", local_id)))
        if got is None:
            out.items.append(f"objectives.{local_id}: missing from the explanation")
            continue
        out.fraction(f"objectives.{local_id}.score", got["score"], want["score"])
        out.points(f"objectives.{local_id}.points", got["points"], want["points"])
    for local_id, want in exp.get("key_results", {}).items():
        got = key_results.get(str(uid("kr", local_id)))
        if got is None:
            out.items.append(f"key_results.{local_id}: missing from the explanation")
            continue
        out.fraction(f"key_results.{local_id}.score", got["score"], want["score"])
        if "computed" in want:
            out.fraction(f"key_results.{local_id}.computed", got["progress"], want["computed"])
        if "current" in want:
            out.raw(f"key_results.{local_id}.current", got["current"], want["current"])
    return out
