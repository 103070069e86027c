"""The states of a version and who may move it between them.

    draft ──submit──▶ submitted ──confirm──▶ confirmed (never changes again)
      ▲                   │
      └──────return───────┘

Saving a confirmed product starts a new draft version; a submitted version must be returned before it is
edited. **Four eyes**: nobody confirms or returns a version they created, edited or submitted — admins
included; the audit names both people.
"""
from __future__ import annotations

from geo_app.production.workflow.repository import WorkflowError

#: Status names inside Vietnamese and English text.
STATUS_NAMES = {"draft": ("bản nháp", "draft"), "submitted": ("đã trình", "submitted"),
                "confirmed": ("đã xác nhận", "confirmed")}

#: Audit actions in words (Vietnamese, English), for the history page.
ACTION_NAMES = {
    "seed": ("Khởi tạo từ định nghĩa sản phẩm", "Seeded from the product definition"),
    "create-draft": ("Tạo bản nháp mới", "Created a new draft"),
    "edit-draft": ("Sửa bản nháp", "Edited the draft"),
    "re-resolve": ("Giải lại ranh giới sau khi cập nhật kho dữ liệu", "Boundary re-resolved after a store rebuild"),
    "submit": ("Trình phê duyệt", "Submitted for approval"),
    "return": ("Trả lại để sửa", "Returned for changes"),
    "confirm": ("Xác nhận và lập hồ sơ", "Confirmed and dossier made"),
}

#: The audit actions that make a person an author of a version (and so not its approver).
AUTHOR_ACTIONS = ("seed", "create-draft", "edit-draft", "submit")


def action_words(action: str) -> tuple[str, str]:
    return ACTION_NAMES.get(action, (action, action))


def require_status(number: int, actual: str, expected: str) -> None:
    if actual != expected:
        (now_vi, now_en), (want_vi, want_en) = STATUS_NAMES[actual], STATUS_NAMES[expected]
        raise WorkflowError(f"phiên bản {number} đang ở trạng thái «{now_vi}», cần «{want_vi}» / version {number} "
                            f"is '{now_en}', must be '{want_en}'", 409, "status")


def authors(con, product_id: str, number: int) -> set[str]:
    """Everyone who created, edited or submitted this version, from the audit."""
    marks = ",".join("?" * len(AUTHOR_ACTIONS))
    rows = con.execute(f"SELECT DISTINCT user FROM audit WHERE product_id = ? AND version = ? AND action IN ({marks})",
                       (product_id, number, *AUTHOR_ACTIONS)).fetchall()
    return {r[0] for r in rows}


def require_second_person(con, product_id: str, number: int, user: str, action: str) -> set[str]:
    """Refuse (403) when ``user`` is one of the version's authors; the authors otherwise."""
    found = authors(con, product_id, number)
    if user in found:
        vi, en = ("xác nhận", "confirm") if action == "confirm" else ("trả lại", "return")
        raise WorkflowError(f"nguyên tắc bốn mắt: bạn đã soạn, sửa hoặc trình phiên bản {number}, nên không được {vi} "
                            f"nó; cần một người phê duyệt khác / four eyes: you created, edited or submitted version "
                            f"{number}, so you cannot {en} it; another approver must", 403, "four_eyes")
    return found
