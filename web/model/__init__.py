"""The modeller's pages: the procedure catalogue (create, edit, retire, history), templates, the
BPMN editor with our properties, step-table authoring, publishing, rollout to the communes, local
differences per commune, version diff and simulation."""

from flask import Blueprint

bp = Blueprint(
    "model",
    __name__,
    url_prefix="/mo-hinh",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from web.model import bundle  # noqa: E402,F401
from web.model import catalogue  # noqa: E402,F401
from web.model import decisions  # noqa: E402,F401
from web.model import local  # noqa: E402,F401
from web.model import migration  # noqa: E402,F401
from web.model import tools  # noqa: E402,F401
from web.model import views  # noqa: E402,F401
