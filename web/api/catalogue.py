"""The procedure catalogue and the published templates (process definitions)."""

from __future__ import annotations

from types import SimpleNamespace

from configurator import catalogue
from engine.services import definitions
from engine.store import catalogue_records
from engine.store import queries
from web.api import schemas
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.api.base import api_user
from web.wiring import runtime

procedures = api_blueprint("api_procedures", "/procedures", "Danh mục thủ tục hành chính")
templates = api_blueprint("api_templates", "/templates", "Quy trình (BPMN) đã ban hành")


@procedures.route("")
@procedures.arguments(schemas.ProcedureQuerySchema(), location="query", as_kwargs=True)
@procedures.response(200, schemas.ProcedureSchema(many=True))
@procedures.paginate(page_size=20, max_page_size=100)
@procedures.alt_response(401, response="UNAUTHORIZED")
def list_procedures(pagination_parameters, q=None, field=None, level=None):
    """Search the catalogue (accents and case ignored); X-Pagination carries the total."""
    found = catalogue.search(
        runtime(),
        q,
        field=field,
        level=level,
        limit=pagination_parameters.page_size,
        offset=pagination_parameters.first_item,
    )
    pagination_parameters.item_count = found.total
    return found.entries


@procedures.route("/<code>")
@procedures.response(200, schemas.ProcedureDetailSchema)
@procedures.alt_response(401, response="UNAUTHORIZED")
@procedures.alt_response(404, response="NOT_FOUND")
def get_procedure(code: str):
    """One procedure by its Portal code (1.001193), or by its key when it has no code yet."""
    rt = runtime()
    with rt.db.read_session() as s:
        record = catalogue_records.procedure_by_code_or_key(s, code)
    if record is None:
        raise ApiError(404, f"Không có thủ tục mã {code} trong danh mục.")
    return catalogue.get(rt, record.key)


@templates.route("")
@templates.arguments(schemas.TemplateQuerySchema(), location="query", as_kwargs=True)
@templates.response(200, schemas.TemplateSchema(many=True))
@templates.alt_response(401, response="UNAUTHORIZED")
def list_templates(key=None):
    """Every published template version (dossiers start on these, unless its procedure is retired
    from the catalogue: then only its running dossiers use it)."""
    with runtime().db.read_session() as s:
        return queries.published_versions(s, key)


@templates.route("/<key>/versions/<int:version>")
@templates.response(200, schemas.TemplateVersionSchema)
@templates.alt_response(401, response="UNAUTHORIZED")
@templates.alt_response(404, response="NOT_FOUND")
def get_template_version(key: str, version: int):
    """One version with its files; drafts are shown only to modellers."""
    rt = runtime()
    with rt.db.read_session() as s:
        definition = catalogue_records.definition_by_version(s, key, version)
    if definition is None or (definition.status == "draft" and not api_user().is_modeller):
        raise ApiError(404, f"Không có phiên bản {version} của quy trình {key}.")
    files = definitions.template_files(rt, definition.id)
    columns = {column.name: getattr(definition, column.name) for column in definition.__table__.columns}
    return SimpleNamespace(**columns, files=files)
