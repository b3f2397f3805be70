"""Where the tests find the corpus of real BPMN and DMN files from other projects: test data kept
outside the repository (each folder names its origin and licence), at MOTCUA_CORPUS or else
../shared/corpus/bpmn beside the checkout. Its tests are skipped where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(
    os.environ.get("MOTCUA_CORPUS") or Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bpmn"
)
