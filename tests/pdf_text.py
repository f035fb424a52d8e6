"""Pages and text of a PDF as headless Chromium prints it, for tests, with the standard
library only: Chromium (Skia) writes plain objects, Flate streams, Type0 fonts with a
ToUnicode map, and text as hex glyph strings shown with Tj. Not a general PDF reader."""

from __future__ import annotations

import re
import unicodedata
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(num): body for num, body in _OBJ.findall(data)}


def _stream(body: bytes) -> bytes:
    found = _STREAM.search(body)
    if not found:
        return b""
    raw = found.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body[: body.find(b"stream")] else raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + offset)
    return out


def pages(data: bytes) -> list[str]:
    """The text of each page, in page-object order; a block of text (BT … ET) per line."""
    objs = _objects(data)
    fonts: dict[int, dict[int, str]] = {}
    for num, body in objs.items():
        ref = re.search(rb"/ToUnicode\s+(\d+) 0 R", body)
        if ref and b"/Font" in body:
            fonts[num] = _cmap(_stream(objs[int(ref.group(1))]))
    out = []
    for body in objs.values():
        if not _PAGE.search(body):
            continue
        names = dict(re.findall(rb"/(F\d+)\s+(\d+) 0 R", body))
        contents = re.search(rb"/Contents\s+(\d+) 0 R", body)
        stream = _stream(objs[int(contents.group(1))]) if contents else b""
        lines, line, cmap = [], "", {}
        for token in re.finditer(rb"/(F\d+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]+)>\s*Tj|\bET\b", stream):
            if token.group(1):
                cmap = fonts.get(int(names.get(token.group(1), b"0")), {})
            elif token.group(2):
                hexa = token.group(2).decode()
                line += "".join(
                    cmap.get(int(hexa[i : i + 4], 16), "") for i in range(0, len(hexa), 4)
                )
            else:
                lines.append(line)
                line = ""
        out.append("\n".join(lines))
    return out


def text(data: bytes) -> str:
    """Every page's text with whitespace collapsed and ligatures (the fonts' "ﬁ") undone, for
    `in` checks across line breaks."""
    return unicodedata.normalize("NFKC", " ".join(" ".join(pages(data)).split()))
