"""`motcua bpmn` and `motcua processes`: template validation and the shipped library, from the
command line (web/cli.py attaches these groups)."""

from __future__ import annotations

import json
import shutil
from datetime import time
from pathlib import Path

import click

from configurator.library import LIBRARY
from configurator.library import procedures
from configurator.validation import Finding
from configurator.validation import ValidationReport
from configurator.validation import validate_library_procedure
from configurator.validation import validate_template
from engine.domain.deadlines import format_legal_limit
from engine.domain.deadlines import is_same_day
from engine.domain.deadlines import parse_legal_limit
from engine.services.definitions import MODEL_SUFFIXES


def _legal_limit(ctx, param, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_legal_limit(value)
    except Exception as exc:  # noqa: BLE001 - any parser error means the option is bad
        raise click.BadParameter(
            f"{value!r} is not a working duration like 3d or 24h, nor 'same day' ({exc})"
        ) from None


def _cutoff(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 15:00") from None
    return value


def _where(finding: Finding, several_files: bool = False) -> str:
    parts = [
        finding.file if several_files and finding.file else "",
        f"line {finding.line}" if finding.line else "",
        f"element {finding.element_id!r}" if finding.element_id else "",
    ]
    return ", ".join(p for p in parts if p) or "template"


def _hours(minutes: int | None) -> str:
    return "-" if minutes is None else f"{minutes / 60:g}h"


def _limit(minutes: int | None) -> str:
    """A legal limit in hours, or 'same day'."""
    return format_legal_limit(minutes) if is_same_day(minutes) else _hours(minutes)


def bundle_files(directory: Path) -> dict[str, bytes]:
    """The BPMN and DMN files of a folder (not its subfolders), by name."""
    return {
        path.name: path.read_bytes()
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name.endswith(MODEL_SUFFIXES)
    }


def _print_report(name: str, report: ValidationReport) -> None:
    status = "valid" if report.ok else f"INVALID ({len(report.errors)} error(s))"
    imports = "imports" if report.imported else "does not import"
    click.echo(f"{name}: {imports}, {status}, {len(report.warnings)} warning(s)")
    if report.longest_path:
        click.echo(
            f"  longest path {_hours(report.longest_path_minutes)} "
            f"(legal limit {_limit(report.legal_limit_minutes)}): " + " -> ".join(report.longest_path)
        )
    for finding in report.errors + report.warnings:
        click.echo(f"  {finding.severity} [{finding.code}] {_where(finding, len(report.files) > 1)}: {finding.message}")


def _json_report(name: str, report: ValidationReport) -> dict:
    return {"file": name, **report.to_dict()}


@click.group("bpmn")
def bpmn_group() -> None:
    """BPMN templates: validation."""


@bpmn_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--bundle",
    "bundle_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Check every .bpmn/.dmn file of this folder as one template (a process, the processes "
    "it calls, its decision tables).",
)
@click.option(
    "--process",
    "process_id",
    default=None,
    help="With --bundle: the process a dossier runs (default: the only executable one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of reports.")
@click.option(
    "--legal-limit",
    callback=_legal_limit,
    default=None,
    help="Legal time limit in working time (3d, 24h) or 'same day'; else each file's legalLimit.",
)
@click.option(
    "--cutoff",
    default=None,
    callback=_cutoff,
    help="Receipts at or after HH:MM count from the next working day (a same-day limit's budgets must fit after it).",
)
def check_bpmn(
    files: tuple[Path, ...],
    bundle_dir: Path | None,
    process_id: str | None,
    as_json: bool,
    legal_limit: int | None,
    cutoff: str | None,
) -> None:
    """Validate each FILE as a template on its own, or a folder's files as one template (--bundle);
    exit 1 when any has an error."""
    if bool(files) == bool(bundle_dir):
        raise click.UsageError("give either FILE... or --bundle DIR")
    if bundle_dir is not None:
        bundle = bundle_files(bundle_dir)
        if not bundle:
            raise click.UsageError(f"{bundle_dir} holds no .bpmn or .dmn file")
        results = [
            (
                str(bundle_dir),
                validate_template(bundle, process_id, legal_limit_minutes=legal_limit, clock_cutoff=cutoff),
            )
        ]
    else:
        results = [
            (
                str(path),
                validate_template({str(path): path.read_bytes()}, legal_limit_minutes=legal_limit, clock_cutoff=cutoff),
            )
            for path in files
        ]
    if as_json:
        click.echo(json.dumps([_json_report(n, r) for n, r in results], ensure_ascii=False, indent=2))
    else:
        for name, report in results:
            _print_report(name, report)
    raise SystemExit(0 if all(r.ok for _, r in results) else 1)


@click.group("processes")
def processes_group() -> None:
    """The shipped library of procedures (processes/)."""


def _library_reports(root: Path) -> list[tuple[object, str, ValidationReport]]:
    return [(p, version, validate_library_procedure(p, version)) for p in procedures(root) for version in p.versions()]


@processes_group.command("check")
@click.argument(
    "directory", required=False, default=str(LIBRARY), type=click.Path(exists=True, file_okay=False, path_type=Path)
)
def check_processes(directory: Path) -> None:
    """Validate every version of every procedure in DIRECTORY (default: the shipped library)."""
    results = _library_reports(directory)
    width = max([len(p.key) for p, _, _ in results] + [9])
    click.echo(f"{'procedure':<{width}}  ver  {'code':<12} {'limit':>8} {'longest':>8}  errors  warnings")
    for procedure, version, report in results:
        code = procedure.catalogue.get("code") or "-"
        click.echo(
            f"{procedure.key:<{width}}  {version:<3}  {code:<12} "
            f"{_limit(report.legal_limit_minutes):>8} {_hours(report.longest_path_minutes):>8}"
            f"  {len(report.errors):>6}  {len(report.warnings):>8}"
        )
    for procedure, version, report in results:
        for finding in report.errors:
            click.echo(f"{procedure.key} {version}: [{finding.code}] {_where(finding)}: {finding.message}")
    bad = sum(not r.ok for _, _, r in results)
    click.echo(f"{len(results)} procedure version(s), {bad} with errors")
    raise SystemExit(1 if bad else 0)


@processes_group.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the library into (created if missing).",
)
@click.option(
    "--root",
    default=str(LIBRARY),
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The library to export.",
)
def export_processes(out: Path, root: Path) -> None:
    """Write each procedure as files: procedure.json, and per version process.bpmn beside its
    step table and forms, so the library can be reviewed (and diffed) as files."""
    failed = []
    for procedure in procedures(root):
        target = out / procedure.key
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(procedure.folder / "procedure.json", target / "procedure.json")
        for version in procedure.versions():
            shutil.copytree(procedure.folder / version, target / version, dirs_exist_ok=True)
            try:
                (target / version / "process.bpmn").write_bytes(procedure.bpmn(version))
            except Exception as exc:  # noqa: BLE001 - report the procedure, export the others
                failed.append(f"{procedure.key} {version}: {exc}")
        click.echo(f"{procedure.key}: {', '.join(procedure.versions())}")
    if (root / "_shared").is_dir():
        shutil.copytree(root / "_shared", out / "_shared", dirs_exist_ok=True)
    for line in failed:
        click.echo(f"cannot build {line}", err=True)
    raise SystemExit(1 if failed else 0)


@bpmn_group.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", required=True, help="Unit whose calendar counts the time, e.g. 00070.")
@click.option("--received", required=True, help="Receipt instant, e.g. 2026-02-13T10:00 (unit's local time).")
@click.option("--legal-limit", "legal_limit", default=None, help="Legal limit, e.g. 3d (default: the template's).")
@click.option("--cutoff", default=None, help="Receipts at or after HH:MM count from the next working day.")
@click.option("--json", "as_json", is_flag=True)
def simulate_bpmn(file: Path, unit: str, received: str, legal_limit, cutoff, as_json: bool) -> None:
    """Appointment and each step's due time for a dossier received at RECEIVED, on a virtual clock."""
    from datetime import datetime

    from configurator.simulation import simulate
    from engine.services.runtime import Runtime
    from engine.store.database import Database

    rt = Runtime(db=Database.from_env())
    with rt.db.read_session() as s:
        tz = rt.calendars.for_unit(s, unit).tz
    at = datetime.fromisoformat(received)
    result = simulate(
        rt,
        {file.name: file.read_bytes()},
        unit,
        at if at.tzinfo else at.replace(tzinfo=tz),
        legal_limit=legal_limit,
        cutoff=cutoff,
    )
    rows = [
        {
            "step": st.element_id,
            "name": st.name,
            "role": st.role,
            "starts_at": st.starts_at.isoformat(),
            "due_at": st.due_at.isoformat() if st.due_at else None,
        }
        for st in result.steps
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "clock_start": result.clock_start.isoformat(),
                    "steps": rows,
                    "appointment": result.appointment.isoformat() if result.appointment else None,
                    "finishes_at": result.finishes_at.isoformat(),
                    "fits": result.fits,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"clock start {result.clock_start:%Y-%m-%d %H:%M}")
    for st in result.steps:
        due = f"{st.due_at:%Y-%m-%d %H:%M}" if st.due_at else "no budget"
        click.echo(f"  {st.element_id:24} {st.role or '':18} due {due}")
    appointment = f"{result.appointment:%Y-%m-%d %H:%M}" if result.appointment else "no legal limit"
    click.echo(
        f"appointment {appointment}; finishes {result.finishes_at:%Y-%m-%d %H:%M}"
        f" ({'fits' if result.fits else 'OVERRUNS the appointment'})"
    )


@processes_group.command("migrate")
@click.argument("key")
@click.option("--from", "from_version", required=True, type=int, help="The version the dossiers run now.")
@click.option("--to", "to_version", required=True, type=int, help="The published version to move them to.")
@click.option("--province", default="01", show_default=True, help="Move the dossiers of this province's communes.")
@click.option("--apply", "apply_it", is_flag=True, help="Move them; without it, only check and report.")
def migrate_dossiers(key: str, from_version: int, to_version: int, province: str, apply_it: bool) -> None:
    """Move the running dossiers of a template from one version to another where it is safe (each
    checked like the modeller's page does, in batches); those that may not move are listed with
    the steps that stop them."""
    from configurator import versions
    from engine.domain.assignment import Actor
    from engine.services.runtime import Runtime
    from engine.store.database import Database

    rt = Runtime(db=Database.from_env())
    checked = movable = moved = refused = 0
    try:
        units, after_id = versions.province_communes(rt, province), 0
        while True:
            plan = versions.migration_plan(rt, key, from_version, to_version, units, after_id)
            if not plan.candidates:
                break
            for candidate in plan.candidates:
                if not candidate.check.ok:
                    click.echo(
                        f"{candidate.code}: stays on v{from_version}: "
                        + "; ".join(str(reason) for reason in candidate.check.reasons)
                    )
            checked, movable = checked + len(plan.candidates), movable + len(plan.movable)
            if apply_it:
                done, failed = versions.migrate_movable(rt, plan, Actor.system())
                moved, refused = moved + done, refused + failed
            after_id = plan.candidates[-1].dossier_id
    finally:
        rt.db.dispose()
    summary = f"{checked} dossier(s) on {key} v{from_version}: {movable} can move to v{to_version}"
    click.echo(
        summary
        + (
            f"; moved {moved}, {refused} changed meanwhile and stayed"
            if apply_it
            else " (check only: add --apply to move them)"
        )
    )


@click.group("catalogue")
def catalogue_group() -> None:
    """The procedure catalogue (thủ tục hành chính): codes, names, time limits, fees, documents."""


@catalogue_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_catalogue(file: Path) -> None:
    """Add or update catalogue entries from FILE: a JSON list (or one entry) in the
    processes/*/procedure.json format, or a CSV export with a header line (columns in
    configurator/catalogue.py). All or nothing: any bad row is named with its field and nothing
    is written."""
    from configurator import catalogue
    from engine.services.runtime import Runtime
    from engine.store.database import Database

    text = file.read_text(encoding="utf-8-sig")
    rt = Runtime(db=Database.from_env())
    try:
        if file.suffix.lower() == ".csv":
            keys = catalogue.import_csv(rt, text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{file.name} is not JSON ({exc}); a .csv file is read as CSV") from None
            keys = catalogue.import_json(rt, data)
    except catalogue.CatalogueError as refused:
        for problem in refused.problems:
            click.echo(f"{file.name}: {problem}", err=True)
        raise SystemExit(1) from None
    finally:
        rt.db.dispose()
    click.echo(f"{len(keys)} procedure(s) imported or updated from {file.name}")
