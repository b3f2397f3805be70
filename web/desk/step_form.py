"""A step's form on the page: the fields to draw (from configurator.forms.field_list), what the
clerk typed turned into the values the form's schema checks, and its error messages in the
clerk's language (marshmallow words them in English)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from configurator.forms import field_list
from web.i18n import current_language

#: The field whose choice routes the dossier (supplement, refusal, return) in the library's forms.
DECISION_FIELD = "ket_qua"

# marshmallow's messages, as clerks should read them; anything else is shown as it comes.
_MESSAGES = (
    (re.compile(r"^Missing data for required field\.$"), "Bắt buộc nhập."),
    (re.compile(r"^Field may not be null\.$"), "Bắt buộc nhập."),
    (re.compile(r"^Must be one of: .*$"), "Hãy chọn một trong các giá trị của danh sách."),
    (re.compile(r"^Not a valid date\.$"), "Ngày không hợp lệ."),
    (re.compile(r"^Not a valid datetime\.$"), "Thời điểm không hợp lệ."),
    (re.compile(r"^Not a valid integer\.$"), "Phải là số nguyên."),
    (re.compile(r"^Not a valid number\.$"), "Phải là số."),
    (re.compile(r"^Not a valid email address\.$"), "Địa chỉ thư điện tử không hợp lệ."),
    (re.compile(r"^does not have the expected form$"), "Không đúng định dạng."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"Cần ít nhất \1 ký tự."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"Tối đa \1 ký tự."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"Độ dài phải từ \1 đến \2 ký tự."),
    (re.compile(r"^Must be greater than or equal to (.+)\.$"), r"Phải lớn hơn hoặc bằng \1."),
    (re.compile(r"^Must be less than or equal to (.+)\.$"), r"Phải nhỏ hơn hoặc bằng \1."),
    (re.compile(r"^Unknown field\.$"), "Trường không có trong biểu mẫu."),
)


def fields_of(form: dict | None) -> list[dict]:
    """Fields to draw: the decision first (so supplement and refusal are in plain view), then the
    required ones, then the rest. The library stores forms with sorted keys, so the declared
    order is not available to follow."""
    if not form:
        return []
    return sorted(field_list(form), key=lambda f: (f["name"] != DECISION_FIELD, not f["required"]))


def submitted_values(form: dict, posted: Mapping[str, str]) -> dict:
    """The posted fields of the form, as its schema expects them: empty means not given (so a
    required field is reported missing), an unticked box means False."""
    values = {}
    for field in field_list(form):
        name = field["name"]
        if field["type"] == "boolean":
            values[name] = posted.get(name) in ("on", "true", "1")
            continue
        text = (posted.get(name) or "").strip()
        if text:
            values[name] = text
    return values


def field_errors(errors: Mapping[str, list[str]]) -> dict[str, str]:
    """field -> one message a clerk can act on, in the clerk's language."""
    translate = (lambda message: message) if current_language() == "en" else _translate
    return {field: " ".join(translate(m) for m in messages) for field, messages in errors.items()}


def _translate(message: str) -> str:
    for pattern, replacement in _MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message
