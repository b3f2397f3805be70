"""The roles an administrator can give: the product's own, then every lane role of the library."""

from __future__ import annotations

import json
from functools import lru_cache

from configurator.library import LIBRARY

PRODUCT_ROLES = {"admin": "Quản trị hệ thống", "supervisor": "Giám sát", "modeller": "Mô hình hoá quy trình"}


@lru_cache(maxsize=1)
def role_choices() -> dict[str, str]:
    library_roles = json.loads((LIBRARY / "_shared" / "roles.json").read_text(encoding="utf-8"))["roles"]
    return {**PRODUCT_ROLES, **library_roles}
