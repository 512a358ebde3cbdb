"""Scoring policies: immutable versions, scope precedence (SPEC section 7) and pinning.

Selection, most specific first: the employee's own policy, their position's, their
position's level's ("managed by level"; the level matched normalized,
service/org/levels.py), their department's (the nearest ancestor that has one), the
organization default. With no policy at all, the built-in default applies (weights kpi
0.5, okr 0.3, eval 0.2 and the SPEC defaults otherwise; reported as policy id null,
version 1). When a cycle enters calibration, the version of every active policy is
pinned on the cycle; scores of that cycle use the pinned versions from then on, so later
edits never change them.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from service.auth.context import Ctx
from service.authz import policy as authz
from service.authz.enforce import require
from service.cycles.models import Cycle
from service.cycles.service import on_transition
from service.errors import Conflict, NotFound, ValidationFailed, validation_errors
from service.kit import audit
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.org.levels import normalize_level
from service.org.models import Department, Employee, Position
from service.scoring.models import ScoringPolicy, ScoringPolicyVersion
from service.scoring.policy import Distribution, PolicyParams
from service.scoring.schemas import PolicyCreate, PolicyParamsIn, PolicyRead, PolicyUpdate
from service.types import new_id

PARAM_FIELDS = tuple(f for f in PolicyParamsIn.model_fields)
BUILTIN = PolicyParams()


def params_json(data: PolicyParamsIn) -> dict[str, Any]:
    return data.model_dump(mode="json", include=set(PARAM_FIELDS))


def to_engine(params: dict[str, Any], policy_id: uuid.UUID | None, version: int) -> PolicyParams:
    dist = params.get("distribution")
    return PolicyParams(
        w_kpi=Decimal(params["w_kpi"]),
        w_okr=Decimal(params["w_okr"]),
        w_eval=Decimal(params["w_eval"]),
        okr_par_committed=Decimal(params["okr_par_committed"]),
        okr_par_aspirational=Decimal(params["okr_par_aspirational"]),
        okr_cap=Decimal(params["okr_cap"]),
        kpi_threshold_points=Decimal(params["kpi_threshold_points"]),
        kpi_target_points=Decimal(params["kpi_target_points"]),
        kpi_cap=Decimal(params["kpi_cap"]),
        rating_scale=int(params["rating_scale"]),
        peer_weight=Decimal(params["peer_weight"]),
        bands=tuple((b["rating"], Decimal(b["min"])) for b in params["bands"]),
        distribution=Distribution(
            mode=dist["mode"], bands=tuple((b["rating"], Decimal(b["pct"])) for b in dist["bands"])
        )
        if dist
        else None,
        kpi_proration=str(params.get("kpi_proration") or "none"),
        id=policy_id,
        version=version,
    )


def read_model(p: ScoringPolicy, v: ScoringPolicyVersion) -> PolicyRead:
    return PolicyRead.model_validate(
        {
            "id": p.id,
            "name": p.name,
            "scope": {"kind": p.scope_kind, "id": p.scope_id, "level": p.scope_level},
            "version": v.version,
            "active": p.active,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "kpi_proration": "none",
            **v.params,
        }
    )


async def _current(ctx: Ctx, p: ScoringPolicy) -> ScoringPolicyVersion:
    v = await ctx.session.get(ScoringPolicyVersion, (ctx.org_id, p.id, p.current_version))
    assert v is not None
    return v


async def list_policies(
    ctx: Ctx, params: PageParams
) -> tuple[Page[ScoringPolicy], dict[uuid.UUID, ScoringPolicyVersion]]:
    require(authz.read_scoring_policies(ctx.principal), "scoring policies")
    page = await paginate(
        ctx.session, select(ScoringPolicy).where(ScoringPolicy.org_id == ctx.org_id), ScoringPolicy.id, params
    )
    versions = {}
    for p in page.items:
        versions[p.id] = await _current(ctx, p)
    return page, versions


async def get_policy(
    ctx: Ctx, policy_id: uuid.UUID, version: int | None = None
) -> tuple[ScoringPolicy, ScoringPolicyVersion]:
    if not authz.read_scoring_policies(ctx.principal).allowed:
        raise NotFound("scoring policy not found")
    p = await ctx.session.get(ScoringPolicy, (ctx.org_id, policy_id))
    if p is None:
        raise NotFound("scoring policy not found")
    v = await ctx.session.get(ScoringPolicyVersion, (ctx.org_id, p.id, version or p.current_version))
    if v is None:
        raise NotFound("no such version of this scoring policy")
    return p, v


async def _check_scope(
    ctx: Ctx, kind: str, scope_id: uuid.UUID | None, level: str | None, exclude: uuid.UUID | None = None
) -> None:
    model = {"department": Department, "position": Position, "employee": Employee}.get(kind)
    if model is not None and await ctx.session.get(model, (ctx.org_id, scope_id)) is None:
        raise ValidationFailed.field(["scope", "id"], f"no such {kind}")
    clash = select(ScoringPolicy.id).where(
        ScoringPolicy.org_id == ctx.org_id,
        ScoringPolicy.scope_kind == kind,
        ScoringPolicy.active.is_(True),
        ScoringPolicy.scope_id.is_(None) if scope_id is None else ScoringPolicy.scope_id == scope_id,
        ScoringPolicy.scope_level.is_(None) if level is None else ScoringPolicy.scope_level == level,
    )
    if exclude is not None:
        clash = clash.where(ScoringPolicy.id != exclude)
    if (await ctx.session.execute(clash)).first() is not None:
        raise Conflict("an active policy is already attached to this scope; edit it to make a new version")


async def create_policy(ctx: Ctx, data: PolicyCreate) -> tuple[ScoringPolicy, ScoringPolicyVersion]:
    require(authz.manage_scoring_policies(ctx.principal), "scoring policies")
    await _check_scope(ctx, data.scope.kind, data.scope.id, data.scope.level)
    p = ScoringPolicy(
        org_id=ctx.org_id,
        id=new_id(),
        name=data.name,
        scope_kind=data.scope.kind,
        scope_id=data.scope.id,
        scope_level=data.scope.level,
        current_version=1,
        active=True,
    )
    ctx.session.add(p)
    await ctx.session.flush()
    v = ScoringPolicyVersion(
        org_id=ctx.org_id, policy_id=p.id, version=1, params=params_json(data), created_by=ctx.principal.actor
    )
    ctx.session.add(v)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "scoring_policy.created",
        "scoring_policy",
        p.id,
        None,
        {"version": 1, "scope": data.scope.model_dump(mode="json"), **v.params},
    )
    return p, v


async def update_policy(
    ctx: Ctx, policy_id: uuid.UUID, data: PolicyUpdate, expected: IfMatch | None = None
) -> tuple[ScoringPolicy, ScoringPolicyVersion]:
    """An edit never changes a version: it writes the next one."""
    p, current = await get_policy(ctx, policy_id)
    require(authz.manage_scoring_policies(ctx.principal), "scoring policy")
    check_version(expected, p.current_version)
    changes = data.model_dump(exclude_unset=True)
    name, active = changes.pop("name", None), changes.pop("active", None)
    if active is True and not p.active:
        await _check_scope(ctx, p.scope_kind, p.scope_id, p.scope_level, exclude=p.id)
    version = current
    if changes:
        merged = {**current.params, **data.model_dump(mode="json", include=set(changes))}
        try:
            validated = PolicyParamsIn.model_validate(merged)
        except ValidationError as exc:
            raise ValidationFailed(
                "the policy is not valid",
                errors=[{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in validation_errors(list(exc.errors()))],
            ) from exc
        version = ScoringPolicyVersion(
            org_id=ctx.org_id,
            policy_id=p.id,
            version=p.current_version + 1,
            params=params_json(validated),
            created_by=ctx.principal.actor,
        )
        ctx.session.add(version)
        p.current_version = version.version
    if name is not None:
        p.name = name
    if active is not None:
        p.active = active
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "scoring_policy.updated",
        "scoring_policy",
        p.id,
        {"version": current.version, **current.params},
        {"version": version.version, "name": p.name, "active": p.active, **version.params},
    )
    return p, version


# --- selection ---------------------------------------------------------------------------------


ScopeKey = tuple[str, uuid.UUID | str | None]


class PolicyBook:
    """Every policy version a cycle's scoring may use, and the rule that picks one. It
    holds the organization's department tree and each position's level (one query each
    when it is built), so picking a policy for any number of employees reads nothing."""

    def __init__(
        self,
        by_scope: dict[ScopeKey, PolicyParams],
        dept_parent: dict[uuid.UUID, uuid.UUID | None],
        position_level: dict[uuid.UUID, str | None] | None = None,
    ) -> None:
        self.by_scope = by_scope
        self.dept_parent = dept_parent
        self.position_level = position_level or {}

    def for_employee(
        self, employee_id: uuid.UUID, position_id: uuid.UUID | None, department_id: uuid.UUID | None
    ) -> PolicyParams:
        level = self.position_level.get(position_id) if position_id is not None else None
        keys: tuple[ScopeKey, ...] = (("employee", employee_id), ("position", position_id), ("level", level))
        for key in keys:
            if key[1] is not None and key in self.by_scope:
                return self.by_scope[key]
        seen: set[uuid.UUID] = set()
        dep = department_id
        while dep is not None and dep not in seen:
            if ("department", dep) in self.by_scope:
                return self.by_scope[("department", dep)]
            seen.add(dep)
            dep = self.dept_parent.get(dep)
        return self.by_scope.get(("organization", None), BUILTIN)

    def prorates_kpis(self) -> bool:
        """Whether any policy of the book prorates or excludes KPIs for partial presence."""
        return any(p.kpi_proration != "none" for p in self.by_scope.values())


async def _active_versions(ctx: Ctx) -> dict[uuid.UUID, int]:
    rows = await ctx.session.execute(
        select(ScoringPolicy.id, ScoringPolicy.current_version).where(
            ScoringPolicy.org_id == ctx.org_id, ScoringPolicy.active.is_(True)
        )
    )
    return {r[0]: r[1] for r in rows}


async def policy_book(ctx: Ctx, cycle: Cycle) -> PolicyBook:
    """Four queries: the policies, the versions in force (pinned or current), departments,
    and the levels of positions (only when a level policy is in force)."""
    pinned = cycle.pinned_policies
    wanted = {uuid.UUID(k): int(v) for k, v in pinned.items()} if pinned is not None else await _active_versions(ctx)
    by_scope: dict[ScopeKey, PolicyParams] = {}
    if wanted:
        policies = {
            p.id: p
            for p in (
                await ctx.session.execute(
                    select(ScoringPolicy).where(ScoringPolicy.org_id == ctx.org_id, ScoringPolicy.id.in_(list(wanted)))
                )
            ).scalars()
        }
        versions = (
            await ctx.session.execute(
                select(ScoringPolicyVersion).where(
                    ScoringPolicyVersion.org_id == ctx.org_id, ScoringPolicyVersion.policy_id.in_(list(wanted))
                )
            )
        ).scalars()
        for v in versions:
            if wanted.get(v.policy_id) == v.version and v.policy_id in policies:
                p = policies[v.policy_id]
                key = p.scope_level if p.scope_kind == "level" else p.scope_id
                by_scope[(p.scope_kind, key)] = to_engine(v.params, p.id, v.version)
    deps = await ctx.session.execute(select(Department.id, Department.parent_id).where(Department.org_id == ctx.org_id))
    levels: dict[uuid.UUID, str | None] = {}
    if any(kind == "level" for kind, _ in by_scope):
        rows = await ctx.session.execute(
            select(Position.id, Position.level).where(Position.org_id == ctx.org_id, Position.level.is_not(None))
        )
        levels = {r[0]: normalize_level(r[1] or "") or None for r in rows}
    return PolicyBook(by_scope, {r[0]: r[1] for r in deps}, levels)


@on_transition
async def pin_on_calibration(ctx: Ctx, cycle: Cycle, to: str) -> None:
    """Entering calibration pins the versions in use; nothing after changes this cycle's
    scores. Closing pins too (a descendant closed with its parent may never have been in
    calibration), so a policy edit never reaches a closed cycle."""
    if to in ("calibration", "closed"):
        await pin(ctx, cycle)


async def params_of(
    ctx: Ctx, refs: set[tuple[uuid.UUID | None, int]]
) -> dict[tuple[uuid.UUID | None, int], PolicyParams]:
    """The parameters of given policy versions (what a score of record names), in one
    query; the built-in default answers for a null policy id."""
    out: dict[tuple[uuid.UUID | None, int], PolicyParams] = {
        ref: dataclasses.replace(BUILTIN, version=ref[1]) for ref in refs if ref[0] is None
    }
    wanted = {pid for pid, _ in refs if pid is not None}
    if wanted:
        rows = (
            await ctx.session.execute(
                select(ScoringPolicyVersion).where(
                    ScoringPolicyVersion.org_id == ctx.org_id, ScoringPolicyVersion.policy_id.in_(sorted(wanted))
                )
            )
        ).scalars()
        for v in rows:
            if (v.policy_id, v.version) in refs:
                out[(v.policy_id, v.version)] = to_engine(v.params, v.policy_id, v.version)
    return out


async def pin(ctx: Ctx, cycle: Cycle) -> None:
    """Pin the versions in use on the cycle, once (entering calibration, or closing)."""
    if cycle.pinned_policies is None:
        cycle.pinned_policies = {str(k): v for k, v in (await _active_versions(ctx)).items()}
        await ctx.session.flush()
