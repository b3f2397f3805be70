"""Rolling a template version out to every commune of a province, per-commune overrides, and
the drift report: which communes differ from their template, and how.

A variant is data (a row pointing at the template's definition), so rolling one template out to
126 communes parses it once and writes 126 small rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from configurator.validation import validate_template
from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.extensions import MOTCUA_NS
from engine.domain import deadlines
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import Problems
from engine.domain.errors import Reason
from engine.services import definitions
from engine.services.runtime import Runtime
from engine.store import queries
from engine.store import repositories
from engine.store import variant_records
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UserRecord

BATCH = 1000


class OverrideError(Problems):
    """Overrides that do not fit the template; `problems` lists each with the element or role."""


@dataclass
class RolloutReport:
    template_key: str
    definition_id: int
    version: int
    units: int
    parses: int


@dataclass
class Drift:
    unit_code: str
    unit_name: str
    differences: list[Reason] = field(default_factory=list)


@dataclass(frozen=True)
class LocalStep:
    element_id: str
    name: str
    role: str | None
    budget: str | None  # the template's own, or its budget group's
    override: str | None  # the unit's budget, when it has one
    optional: bool = False  # the template lets a commune skip it
    skipped: bool = False


@dataclass(frozen=True)
class LocalSettings:
    """What a unit runs of a template, what it may change, and what it changed."""

    template_key: str
    unit_code: str
    unit_name: str
    version: int
    newest_version: int | None
    steps: list[LocalStep]
    holders: dict[str, str]  # role -> username, where the unit names one
    candidates: dict[str, list[tuple[str, str]]]  # role -> [(username, full name)] of the unit


def rollout(
    rt: Runtime,
    definition_id: int,
    *,
    unit_codes: list[str] | None = None,
    province: str = "01",
    progress: Callable[[int, int], None] | None = None,
) -> RolloutReport:
    """Apply a published version to every commune of the province (or the given units) in one
    action; existing variants move to it and keep their overrides."""
    [report] = rollout_many(rt, [definition_id], unit_codes=unit_codes, province=province, progress=progress)
    return report


def rollout_many(
    rt: Runtime,
    definition_ids: list[int],
    *,
    unit_codes: list[str] | None = None,
    province: str = "01",
    progress: Callable[[int, int], None] | None = None,
) -> list[RolloutReport]:
    """Apply several published versions (a whole library) to every commune of the province, or
    the given units, in one transaction and batched writes: each template is parsed once (or found
    in the cache), all or nothing. Existing variants move to the new version and keep their
    overrides. `progress(done, total)` counts the units of one template at a time."""
    with rt.db.session() as s:
        units = unit_codes or queries.commune_codes(s, province)
        now = rt.clock.now()
        reports = []
        for definition_id in definition_ids:
            parses_before = rt.specs.parses
            definition = _publishable(rt, s, definition_id)
            for start in range(0, len(units), BATCH):
                chunk = units[start : start + BATCH]
                variant_records.upsert_variants(
                    s,
                    [
                        {
                            "template_key": definition.key,
                            "unit_code": code,
                            "definition_id": definition.id,
                            "overrides": {},
                            "updated_at": now,
                        }
                        for code in chunk
                    ],
                )
                if progress:
                    progress(min(start + BATCH, len(units)), len(units))
            reports.append(
                RolloutReport(
                    definition.key, definition.id, definition.version, len(units), rt.specs.parses - parses_before
                )
            )
        return reports


def _publishable(rt: Runtime, s, definition_id: int) -> ProcessDefinitionRecord:
    """The published version, its template parsed (or found in the cache) once for all units."""
    definition = s.get(ProcessDefinitionRecord, definition_id)
    if definition is None or definition.status != "published":
        raise InvalidAction("only a published version can be rolled out")
    rt.bundle_for(s, definition)
    return definition


def set_overrides(
    rt: Runtime,
    template_key: str,
    unit_code: str,
    *,
    roles: dict[str, str] | None = None,
    budgets: dict[str, str] | None = None,
    skip: list[str] | None = None,
) -> dict:
    """Who holds each role in this unit, its step budgets and the optional steps it skips;
    refused, naming every problem, when a role or step is not in the template, a user is not in
    the unit, a skipped step is not optional, or the budgets along some path exceed the legal
    limit."""
    with rt.db.session() as s:
        variant, definition = _rolled_out(s, template_key, unit_code)
        bundle = rt.bundle_for(s, definition)
        problems = (
            _role_problems(s, bundle, unit_code, roles or {})
            + _budget_problems(bundle, budgets or {})
            + _skip_problems(bundle, skip or [])
        )
        if not problems and budgets:
            problems = _legal_limit_problems(rt, definition, budgets)
        if problems:
            raise OverrideError(problems)
        overrides = {"roles": dict(roles or {}), "budgets": dict(budgets or {})}
        if skip:
            overrides["skip"] = sorted(set(skip))
        variant_records.set_overrides(s, variant.id, overrides, rt.clock.now())
        return overrides


def local_settings(rt: Runtime, template_key: str, unit_code: str) -> LocalSettings:
    """The unit's variant of a template, for the modeller's page of local differences."""
    with rt.db.read_session() as s:
        variant, definition = _rolled_out(s, template_key, unit_code)
        newest = queries.latest_published(s, template_key)
        bundle = rt.bundle_for(s, definition)
        overrides = variant.overrides or {}
        skipped = set(overrides.get("skip", ()))
        steps = [
            LocalStep(
                step.element_id,
                step.name,
                step.role,
                _template_budget(bundle, step),
                overrides.get("budgets", {}).get(step.element_id),
                step.optional,
                step.element_id in skipped,
            )
            for policy in bundle.policies.values()
            for step in policy.steps.values()
        ]
        roles = sorted({step.role for step in steps if step.role})
        users = repositories.active_users(s, unit_code)
        candidates = {
            role: [(u.username, u.full_name) for u in sorted(users, key=lambda u: u.username) if role in u.role_set]
            for role in roles
        }
        return LocalSettings(
            template_key,
            unit_code,
            queries.unit_names(s).get(unit_code, unit_code),
            definition.version,
            newest.version if newest else None,
            steps,
            dict(overrides.get("roles", {})),
            candidates,
        )


def _rolled_out(s, template_key: str, unit_code: str):
    """The unit's variant of the template and the version it runs."""
    variant = variant_records.variant_for(s, template_key, unit_code)
    if variant is None:
        raise NotFound("%(key)s is not rolled out to unit %(unit)s", key=template_key, unit=unit_code)
    return variant, s.get(ProcessDefinitionRecord, variant.definition_id)


def _template_budget(bundle, step) -> str | None:
    if step.budget or not step.budget_group:
        return step.budget
    group = bundle.policy.budget_groups.get(step.budget_group)
    return group.budget if group else None


def _role_problems(s, bundle, unit_code: str, roles: dict[str, str]) -> list[Reason]:
    known = {step.role for policy in bundle.policies.values() for step in policy.steps.values()}
    problems = []
    for role, username in roles.items():
        user = s.get(UserRecord, username)
        if role not in known:
            problems.append(Reason.of("role '%(role)s' is not used by the template", role=role))
        elif user is None or user.unit_code != unit_code or role not in user.role_set or not user.active:
            problems.append(
                Reason.of(
                    "%(user)s cannot hold role '%(role)s' in unit %(unit)s", user=username, role=role, unit=unit_code
                )
            )
    return problems


def _budget_problems(bundle, budgets: dict[str, str]) -> list[Reason]:
    problems = []
    for element_id, text in budgets.items():
        if bundle.step(element_id) is None:
            problems.append(Reason.of("%(step)s: not a step of the template", step=element_id))
            continue
        try:
            deadlines.parse_working_duration(text)
        except ValueError:
            problems.append(
                Reason.of("%(step)s: '%(text)s' is not a working duration like 4h or 0.5d", step=element_id, text=text)
            )
    return problems


def _skip_problems(bundle, skip: list[str]) -> list[Reason]:
    problems = []
    for element_id in skip:
        step = bundle.step(element_id)
        if step is None:
            problems.append(Reason.of("%(step)s: not a step of the template", step=element_id))
        elif not step.optional:
            problems.append(
                Reason.of(
                    "%(step)s: the template does not mark this step optional, so no commune may skip it",
                    step=element_id,
                )
            )
    return problems


def _legal_limit_problems(rt: Runtime, definition: ProcessDefinitionRecord, budgets: dict[str, str]) -> list[Reason]:
    """The budgets with the overrides applied must still fit the legal limit on every path (for a
    same-day procedure: the working time left after its cut-off)."""
    files = definitions.model_files(
        {n: t.encode("utf-8") for n, t in definitions.template_files(rt, definition.id).items()}
    )
    changed = {name: with_budgets(content, budgets) for name, content in files.items()}
    report = validate_template(
        changed, definition.key, definition.legal_limit_minutes, clock_cutoff=definition.clock_cutoff
    )
    return [Reason(f.template or f.message, f.params) for f in report.errors]


def with_budgets(bpmn: bytes, budgets: dict[str, str]) -> bytes:
    """The template with some steps' `motcua:step budget` replaced (for checking, never stored)."""
    tree = etree.fromstring(bpmn, etree.XMLParser(resolve_entities=False, no_network=True))
    for element_id, budget in budgets.items():
        for node in tree.xpath("//*[@id=$id]", id=element_id):
            ext = node.find(f"{{{BPMN_NS}}}extensionElements")
            if ext is None:
                ext = etree.SubElement(node, f"{{{BPMN_NS}}}extensionElements")
                node.insert(0, ext)
            step = ext.find(f"{{{MOTCUA_NS}}}step")
            if step is None:
                step = etree.SubElement(ext, f"{{{MOTCUA_NS}}}step")
            step.set("budget", budget)
            step.attrib.pop("budgetGroup", None)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def drift_report(rt: Runtime, template_key: str) -> list[Drift]:
    """Communes whose process differs from the template's newest published version, and how."""
    with rt.db.read_session() as s:
        latest = queries.latest_published(s, template_key)
        if latest is None:
            raise NotFound("no published version of %(key)s", key=template_key)
        names = queries.unit_names(s)
        drifts = []
        for variant in variant_records.list_variants(s, template_key=template_key, limit=100_000):
            differences = []
            if variant.definition_id != latest.id:
                version = s.get(ProcessDefinitionRecord, variant.definition_id).version
                differences.append(
                    Reason.of("runs version %(version)s, newest is %(newest)s", version=version, newest=latest.version)
                )
            for role, username in sorted((variant.overrides or {}).get("roles", {}).items()):
                differences.append(Reason.of("role %(role)s held by %(user)s", role=role, user=username))
            for element_id, budget in sorted((variant.overrides or {}).get("budgets", {}).items()):
                differences.append(Reason.of("step %(step)s budget %(budget)s", step=element_id, budget=budget))
            for element_id in (variant.overrides or {}).get("skip", []):
                differences.append(Reason.of("step %(step)s skipped", step=element_id))
            if differences:
                drifts.append(Drift(variant.unit_code, names.get(variant.unit_code, ""), differences))
        return drifts
