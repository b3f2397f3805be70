"""The engine's refusals in Vietnamese. The engine words its errors in English for every caller
(CLI, API, logs); the web pages show the ones people meet in their language, and any other as
it comes, so that no reason is ever hidden."""

from __future__ import annotations

import re

rx = re.compile
_REFUSALS = (
    # who may work a step (engine.domain.assignment)
    (rx(r"^(\S+) does not work in unit (\S+)$"), r"\1 không làm việc ở đơn vị \2."),
    (rx(r"^the step is assigned to (\S+)$"), r"Bước này đang do \1 xử lý."),
    (rx(r"^the step needs role '([^']+)'; (\S+) has (.+)$"), r"Bước này cần vai trò \1; \2 có vai trò \3."),
    (rx(r"^already claimed by (\S+)$"), r"Bước đã được \1 nhận xử lý."),
    # dossiers
    (rx(r"^the step is delegated to (\S+); it must be resolved (?:back )?to (\S+) first$"),
     r"Bước đang được ủy quyền cho \1; phải chuyển lại cho \2 trước."),
    (rx(r"^step '(.+)' changed since you opened it; reload and try again$"),
     r"Bước “\1” đã thay đổi từ khi bạn mở trang; hãy tải lại trang và thử lại."),
    (rx(r"^step '(.+)' is already (\w+) by (\S+)$"), lambda m: f"Bước “{m[1]}” đã {_state(m[2])} bởi {m[3]}."),
    (rx(r"^step '(.+)' is already (\w+)$"), lambda m: f"Bước “{m[1]}” đã {_state(m[2])}."),
    (rx(r"^dossier (\S+) is (\w+); nothing can move it now$"), r"Hồ sơ \1 đang ở trạng thái \2; không thể xử lý tiếp."),
    (rx(r"^the step is not claimed$"), "Bước chưa có người nhận xử lý."),
    (rx(r"^only (\S+) or a leader may release this step$"), r"Chỉ \1 hoặc lãnh đạo được trả bước này về nhóm."),
    (rx(r"^the apology letter needs a reason$"), "Phiếu xin lỗi cần ghi lý do."),
    (rx(r"^the appointment has already been moved once$"),
     "Ngày hẹn trả chỉ được hẹn lại một lần; hồ sơ này đã được hẹn lại."),
    (rx(r"^a new appointment must be later than the original one$"), "Ngày hẹn mới phải sau ngày hẹn ban đầu."),
    (rx(r"^only a leader of unit (\S+) may issue the apology letter for dossier (\S+)$"),
     r"Chỉ lãnh đạo đơn vị \1 được lập phiếu xin lỗi và hẹn lại cho hồ sơ \2."),
    (rx(r"^someone else changed this dossier at the same moment; reload and try again$"),
     "Người khác vừa thay đổi hồ sơ này cùng lúc; hãy tải lại trang và thử lại."),
    (rx(r"^stopping a dossier needs a reason \(it is printed on the stop notice\)$"),
     "Cần ghi lý do dừng xử lý (lý do được in trên thông báo)."),
    (rx(r"^only the one-stop desk or a leader of unit (\S+) may stop dossier (\S+)$"),
     r"Chỉ bộ phận một cửa hoặc lãnh đạo đơn vị \1 được dừng xử lý hồ sơ \2."),
    (rx(r"^unknown work item (\S+)$"), r"Không tìm thấy bước xử lý \1."),
    (rx(r"^unknown dossier (\S+)$"), r"Không tìm thấy hồ sơ \1."),
    # hand-overs (engine.services.actions)
    (rx(r"^the step is not assigned to anyone; claim it before delegating$"),
     "Bước chưa có người nhận; hãy nhận xử lý trước khi ủy quyền."),
    (rx(r"^the step is already delegated to (\S+); it must be resolved first$"),
     r"Bước đã được ủy quyền cho \1; phải chuyển lại trước."),
    (rx(r"^only (\S+) or a leader of unit (\S+) may delegate this step$"),
     r"Chỉ \1 hoặc lãnh đạo đơn vị \2 được ủy quyền bước này."),
    (rx(r"^the step is not delegated; there is nothing to resolve$"),
     "Bước không được ủy quyền; không có gì để chuyển lại."),
    (rx(r"^only the delegate (\S+) may resolve this step$"), r"Chỉ người được ủy quyền (\1) được chuyển lại bước này."),
    (rx(r"^only a leader of unit (\S+) may reassign this step$"), r"Chỉ lãnh đạo đơn vị \1 được giao lại bước này."),
    (rx(r"^the step is already in its role's pool$"), "Bước đang ở nhóm, chưa giao cho ai."),
    (rx(r"^the step belongs to role '([^']+)'; it can go back only to that pool$"),
     r"Bước thuộc vai trò \1; chỉ có thể trả về nhóm đó."),
    (rx(r"^this step has no return path in the template$"), "Quy trình không có đường trả lại từ bước này."),
    (rx(r"^returning did not reopen an earlier step; check the template's return path$"),
     "Trả lại không mở lại bước trước; cần kiểm tra đường trả lại của quy trình."),
    (rx(r"^the step is already assigned to (\S+)$"), r"Bước đã giao cho \1."),
    (rx(r"^unknown user '([^']+)'$"), r"Không có người dùng \1."),
    (rx(r"^(\S+) is not an active user$"), r"Tài khoản \1 không còn hoạt động."),
    (rx(r"^(\S+) does not have role '([^']+)'(; declare the absence for a role they hold)?$"),
     lambda m: f"{m[1]} không có vai trò {m[2]}."
               + (" Hãy đăng ký vắng mặt cho một vai trò người đó có." if m[3] else "")),
    # absences
    (rx(r"^the absence ends \((\S+)\) before it starts \((\S+)\)$"), r"Ngày kết thúc (\1) trước ngày bắt đầu (\2)."),
    (rx(r"^a user cannot substitute for themselves$"), "Không thể tự xử lý thay cho chính mình."),
    (rx(r"^only (\S+) or a leader of unit (\S+) may manage their absences$"),
     r"Chỉ \1 hoặc lãnh đạo đơn vị \2 được quản lý vắng mặt của người này."),
    (rx(r"^(\S+) is already away from (\S+) to (\S+) \(substitute (\S+)\)(.*)$"),
     r"\1 đã đăng ký vắng mặt từ \2 đến \3 (người thay: \4)\5; không thể đăng ký trùng."),
    (rx(r"^circular delegation: (.+) from (\S+) to (\S+)$"), r"Ủy quyền vòng tròn: \1 (từ \2 đến \3)."),
    (rx(r"^the absence of (\S+) has already ended$"), r"Vắng mặt của \1 đã kết thúc."),
)


def _state(state: str) -> str:
    return {"completed": "hoàn thành", "cancelled": "bị rút"}.get(state, state)


def in_vietnamese(message: str) -> str:
    for pattern, replacement in _REFUSALS:
        found = pattern.match(message)
        if found:
            return replacement(found) if callable(replacement) else found.expand(replacement)
    return message
