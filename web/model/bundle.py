"""A template version's files as one download: the main BPMN, the processes it calls, its
decision tables (DMN) and its step forms, zipped, so a template leaves as it was published."""

from __future__ import annotations

import io
import zipfile

from flask import Response

from configurator import drafts
from web.model import bp
from web.security import modeller_required
from web.wiring import runtime


@bp.get("/<key>/v<int:version>.zip")
@modeller_required
def version_bundle(key: str, version: int):
    files = drafts.version_files(runtime(), key, version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{key}-v{version}.zip"'},
    )
