"""Vietnamese place names: comparing them across sources and searching without diacritics."""
from __future__ import annotations

import re
import unicodedata

#: Unit-kind prefixes that sources add or leave out ("Xã Pha Long" / "Pha Long").
_PREFIXES = ("thi tran", "thi xa", "thanh pho", "phuong", "huyen", "xa", "tinh")
_PARENTHESIS = re.compile(r"\([^)]*\)")
_SPACES = re.compile(r"\s+")
#: "NT" and "N.T" abbreviate "nông trường" (state farm) in some sources' town names.
_STATE_FARM = re.compile(r"^(thi tran )?n\.?\s?t\.?\s")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Tả Ngải Chồ' and 'Tả Ngài Chồ' both give 'ta ngai cho'.

    Written with unicodedata rather than Unidecode because Unidecode is GPL.
    """
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()


def normalise_unit_name(name: str) -> str:
    """The comparable core of a unit name: folded, without its kind prefix or a parenthesis.

    'Phường Nam Cường (thành phố Lào Cai)' → 'nam cuong'; 'Xã  Tả Ngài Chồ' → 'ta ngai cho'.
    """
    core = fold(_PARENTHESIS.sub(" ", name))
    core = _STATE_FARM.sub(lambda m: (m.group(1) or "") + "nong truong ", core)
    for prefix in _PREFIXES:
        if core.startswith(prefix + " "):
            core = core[len(prefix) + 1 :]
            break
    return core.strip()


def split_name_list(text: str) -> list[str]:
    """Split a list like 'Xã A, Xã B (huyện C), và Xã D' on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    cleaned = []
    for part in parts:
        part = re.sub(r"^\s*và\s+", "", part.strip())
        # "Xã A và Xã B" without a comma
        cleaned.extend(p.strip() for p in re.split(r"\s+và\s+(?=(?:Xã|Phường|Thị trấn)\s)", part) if p.strip())
    return cleaned
