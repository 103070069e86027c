"""Vietnamese text encodings found in field data: UTF-8, Windows-1258, TCVN3 (ABC) and VNI (Windows).

TCVN3 and VNI are font encodings, not Python codecs: text typed with a .VnTime or VNI-Times font is
stored as Latin-1 bytes that only look Vietnamese through that font. DBF files from older GIS
(MapInfo, old ArcView) carry them without any .cpg, so the encoding is chosen by decoding the raw
bytes every way and keeping the decoding that yields the most valid Vietnamese syllables.

The tables are written out here (rather than taken from a library) because they are small and the
libraries that have them are GPL or unmaintained. Verified against known names in the tests
(Lào Cai, Bảo Yên, Mường Khương, Tả Gia Khâu).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

UTF8, CP1258, TCVN3, VNI = "UTF-8", "CP1258", "TCVN3", "VNI"

# --- TCVN3 (TCVN 5712:1993, VN3, the "ABC" fonts) --------------------------------------------------
# One byte per precomposed letter. Upper-case toned letters live in a separate font (.VnTimeH) that
# reuses the lower-case codes, so they cannot be told apart and decode as lower case.
_TCVN3_PAIRS = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
_TCVN3_DECODE = {chr(b): u for b, u in _TCVN3_PAIRS.items()}
_TCVN3_ENCODE = {u: b for b, u in _TCVN3_PAIRS.items()}

# --- VNI (Windows) ---------------------------------------------------------------------------------
# A base vowel followed by one "mark" byte (tone, or vowel mark + tone); a few letters have a byte
# of their own. Upper-case marks are the upper-case Latin-1 twins of the lower-case ones.
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031B"
_VNI_MARKS = {
    "ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT,
    "â": _CIRC, "á": _CIRC + _ACUTE, "à": _CIRC + _GRAVE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE, "ä": _CIRC + _DOT,
    "ê": _BREVE, "é": _BREVE + _ACUTE, "è": _BREVE + _GRAVE, "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE, "ë": _BREVE + _DOT,
}
_VNI_MARKS.update({k.upper(): v for k, v in list(_VNI_MARKS.items())})
_VNI_LETTERS = {"ô": "ơ", "ö": "ư", "ñ": "đ", "ò": "ị", "ó": "ĩ", "æ": "ỉ", "î": "ỵ"}
_VNI_LETTERS.update({k.upper(): v.upper() for k, v in list(_VNI_LETTERS.items())})
_VNI_BASES = set("aeouyAEOUYơưƠƯ")


def decode_tcvn3(raw: bytes) -> str:
    return unicodedata.normalize("NFC", "".join(_TCVN3_DECODE.get(ch, ch) for ch in raw.decode("latin-1")))


def decode_vni(raw: bytes) -> str:
    text = raw.decode("latin-1")
    out: list[str] = []
    for ch in text:
        if ch in _VNI_MARKS and out and out[-1] and out[-1][-1] in _VNI_BASES:
            out[-1] = out[-1] + _VNI_MARKS[ch]
        else:
            out.append(_VNI_LETTERS.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


def decode_cp1258(raw: bytes) -> str:
    # Windows-1258 stores tones as separate combining bytes; NFC joins them to the letter.
    return unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace"))


def decode_utf8(raw: bytes) -> str:
    return unicodedata.normalize("NFC", raw.decode("utf-8-sig"))


DECODERS: dict[str, Callable[[bytes], str]] = {
    UTF8: decode_utf8, CP1258: decode_cp1258, TCVN3: decode_tcvn3, VNI: decode_vni,
}


def encode_tcvn3(text: str) -> bytes:
    """Unicode → TCVN3 bytes (upper-case toned letters fall back to lower case, as the fonts do)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ch.lower() in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch.lower()])
        else:
            out += ch.encode("latin-1")
    return bytes(out)


_VNI_MARK_OF = {v: k for k, v in _VNI_MARKS.items() if k.islower()}
_VNI_LETTER_OF = {v: k for k, v in _VNI_LETTERS.items()}


def encode_vni(text: str) -> bytes:
    """Unicode → VNI (Windows) bytes; used to make legacy test files and legacy exports."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _VNI_LETTER_OF:
            out.append(_VNI_LETTER_OF[ch])
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if not marks or base.lower() not in "aeiouy":
            out.append(ch)
            continue
        if _HORN in marks:  # ơ, ư carry the horn in their own byte
            base = {"o": "ô", "u": "ö", "O": "Ô", "U": "Ö"}[base]
            marks = marks.replace(_HORN, "")
        # NFD puts the dot below before the circumflex; VNI writes the vowel mark first
        marks = "".join(c for c in marks if c in (_CIRC, _BREVE)) + "".join(c for c in marks if c in _TONES)
        if base.lower() == "i" and marks:
            out.append({_ACUTE: "í", _GRAVE: "ì", _HOOK: "æ", _TILDE: "ó", _DOT: "ò"}[marks])
            out[-1] = out[-1].upper() if base.isupper() else out[-1]
            continue
        if base.lower() == "y" and marks == _DOT:
            out.append("Î" if base.isupper() else "î")
            continue
        mark = _VNI_MARK_OF.get(marks, "") if marks else ""
        out.append(base + (mark.upper() if base.isupper() else mark))
    return "".join(out).encode("latin-1")


# --- scoring ---------------------------------------------------------------------------------------
_TONES = {_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT}
_ONSET = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
# Vowel groups that end the syllable, that need a final consonant, and that may take one or not.
_OPEN_ONLY = "ai ao au ay âu ây eo êu ia iu oai oao oay oeo oi ôi ơi ua uây ui uôi uơ uya uyu ưa ưi ươi ươu ưu yêu iêu".split()
_CODA_NEEDED = "ă â iê oă uâ uô ươ yê uyê".split()
_EITHER = "a e ê i o ô ơ u ư y oa oe uê uy oo".split()
_CODA = "(?:ch|ng|nh|c|m|n|p|t)"


def _alternatives(items: list[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


_SYLLABLE = re.compile(
    f"^{_ONSET}(?:(?:{_alternatives(_OPEN_ONLY)})|(?:{_alternatives(_CODA_NEEDED)}){_CODA}"
    f"|(?:{_alternatives(_EITHER)}){_CODA}?)$"
)
#: After a stop (c, ch, p, t) only the sắc and nặng tones occur.
_STOP_FINAL = re.compile("(?:c|ch|p|t)$")
_WORD = re.compile(r"[^\s\d.,;:()\[\]/\\\-_'\"!?]+")


def is_vietnamese_syllable(word: str) -> bool:
    """A word written with Vietnamese letters, at most one tone, and a valid onset-vowel-coda shape."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in decomposed if c in _TONES]
    if len(tones) > 1:
        return False
    toneless = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    if not _SYLLABLE.match(toneless):
        return False
    return not (_STOP_FINAL.search(toneless) and tones and tones[0] not in (_ACUTE, _DOT))


def score(text: str) -> int:
    """Valid minus invalid syllables among the words that are not plain ASCII (the ones that tell)."""
    total = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        total += 1 if is_vietnamese_syllable(word) else -1
    return total


@dataclass(frozen=True)
class EncodingGuess:
    encoding: str
    scores: dict[str, int]
    #: True when the text is plain ASCII, so every candidate reads it the same.
    ascii_only: bool = False

    def note(self) -> tuple[str, str]:
        if self.ascii_only:
            return ("Văn bản chỉ gồm ký tự ASCII (không dấu); đọc như UTF-8",
                    "text is plain ASCII (no diacritics); read as UTF-8")
        scores = ", ".join(f"{k} {v}" for k, v in self.scores.items())
        return (f"Bảng mã văn bản: {self.encoding} (số âm tiết tiếng Việt hợp lệ trừ không hợp lệ: {scores})",
                f"text encoding: {self.encoding} (valid minus invalid Vietnamese syllables: {scores})")


def guess_bytes(samples: Iterable[bytes], candidates: Iterable[str] = (UTF8, TCVN3, VNI, CP1258)) -> EncodingGuess:
    """Choose the decoding of raw text bytes that gives the most valid Vietnamese syllables.

    UTF-8 is only a candidate when every sample decodes strictly; ties (only seen on a word or two)
    go to the earlier candidate: UTF-8 first, because a wrong legacy guess garbles text that was
    fine, then TCVN3 and VNI, which are far more common than CP1258 in Vietnamese DBF files.
    """
    samples = [s for s in samples if s]
    if all(s.isascii() for s in samples):
        return EncodingGuess(UTF8, {}, ascii_only=True)
    scores: dict[str, int] = {}
    for name in candidates:
        try:
            scores[name] = sum(score(DECODERS[name](s)) for s in samples)
        except UnicodeDecodeError:
            continue
    best = max(scores, key=lambda k: scores[k])  # max keeps the first of equal scores
    return EncodingGuess(best, scores)


def guess_strings(values: Iterable[str]) -> EncodingGuess:
    """For text that is already Unicode (GeoPackage, GeoJSON, XLSX, KML): was it typed in a legacy font?

    Such text holds Latin-1 look-alikes ('Lµo Cai'); re-reading its code points as bytes reveals it.
    Returns UTF-8 when the text is fine as it is.
    """
    values = [v for v in values if isinstance(v, str) and v and not v.isascii()]
    if not values:
        return EncodingGuess(UTF8, {}, ascii_only=True)
    scores = {UTF8: sum(score(unicodedata.normalize("NFC", v)) for v in values)}
    try:
        raw = [v.encode("latin-1") for v in values]
    except UnicodeEncodeError:
        return EncodingGuess(UTF8, scores)
    for name in (TCVN3, VNI):
        scores[name] = sum(score(DECODERS[name](r)) for r in raw)
    best = max(scores, key=lambda k: scores[k])
    return EncodingGuess(best, scores)


def recode_string(value: str, encoding: str) -> str:
    """A Unicode string whose code points are really bytes (read as Latin-1) → proper NFC text."""
    if encoding == UTF8:
        try:
            return decode_utf8(value.encode("latin-1"))
        except (UnicodeEncodeError, UnicodeDecodeError):
            return unicodedata.normalize("NFC", value)
    return DECODERS[encoding](value.encode("latin-1"))


def encode_cp1258(text: str) -> bytes:
    """Unicode → Windows-1258: letters with a vowel mark are precomposed, tones are combining bytes."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in decomposed if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)
