"""Read back ESC/POS byte streams: the printable text (decoded with the code page the stream
selects), the QR payloads and the cuts. Pure Python, no printer library: it is the independent
oracle that tests (ours and the kiosk's) use to check what a printer really received.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESC = 0x1B
GS = 0x1D
DLE = 0x10
FS = 0x1C

# ESC t n -> Python codec, for the code pages a Spanish ticket may use (Epson numbering).
CODEPAGE_CODECS: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    16: "cp1252",
    19: "cp858",
    40: "iso8859_15",
}

# ESC commands followed by exactly one parameter byte.
_ESC_ONE_ARG = set(b"!-3AEGJMRUVadt{")
_ESC_NO_ARG = set(b"@2<S")
# GS commands followed by exactly one parameter byte.
_GS_ONE_ARG = set(b"!BHbfhwI|a")


@dataclass(frozen=True)
class TextLine:
    """One printed line with the style in force when it was printed."""

    text: str
    width: int = 1  # character width multiplier
    height: int = 1
    bold: bool = False
    invert: bool = False
    align: str = "left"  # left, center, right
    font_b: bool = False


@dataclass(frozen=True)
class QrBlock:
    payload: str
    module_size: int
    align: str


@dataclass(frozen=True)
class CutBlock:
    partial: bool


Block = TextLine | QrBlock | CutBlock


@dataclass
class EscposDocument:
    """What a byte stream asks the printer to do, in a form tests can assert on."""

    blocks: list[Block] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    qr_payloads: list[str] = field(default_factory=list)
    cuts: int = 0
    codepages: list[int] = field(default_factory=list)
    large_text: list[str] = field(default_factory=list)  # text printed at 2x size or more
    raster_images: int = 0
    unknown_commands: list[bytes] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse(data: bytes) -> EscposDocument:
    """Walk ``data`` command by command. Unknown commands are recorded, never guessed at."""
    doc = EscposDocument()
    codec = "cp437"  # the printer's power-on table
    style = {"width": 1, "height": 1, "bold": False, "invert": False, "align": "left"}
    font_b = False
    qr_module = 3
    line = bytearray()
    large = bytearray()
    index = 0

    def size_factor() -> int:
        return max(style["width"], style["height"])

    def flush_large() -> None:
        if large.strip():
            doc.large_text.append(bytes(large).decode(codec, errors="replace").strip())
        large.clear()

    def flush_line() -> None:
        text = bytes(line).decode(codec, errors="replace")
        doc.lines.append(text)
        doc.blocks.append(TextLine(text=text, font_b=font_b, **style))
        line.clear()

    def reset() -> None:
        nonlocal codec, font_b
        codec, font_b = "cp437", False
        style.update(width=1, height=1, bold=False, invert=False, align="left")

    while index < len(data):
        byte = data[index]
        if byte == ESC and index + 1 < len(data):
            command = data[index + 1]
            if command in _ESC_NO_ARG:
                if command == ord("@"):
                    reset()
                index += 2
                continue
            if command in _ESC_ONE_ARG and index + 2 < len(data):
                argument = data[index + 2]
                if command == ord("t"):
                    doc.codepages.append(argument)
                    codec = CODEPAGE_CODECS.get(argument, "cp437")
                elif command == ord("!"):
                    flush_large()
                    style["height"] = 2 if argument & 0x10 else 1
                    style["width"] = 2 if argument & 0x20 else 1
                    style["bold"] = bool(argument & 0x08)
                    font_b = bool(argument & 0x01)
                elif command == ord("E"):
                    style["bold"] = bool(argument & 1)
                elif command == ord("a"):
                    style["align"] = {
                        0: "left",
                        1: "center",
                        2: "right",
                        48: "left",
                        49: "center",
                        50: "right",
                    }.get(argument, "left")
                elif command == ord("M"):
                    font_b = argument in (1, 49)
                elif command == ord("d"):
                    if line:
                        flush_line()
                    for _ in range(argument):
                        doc.blocks.append(TextLine(text=""))
                index += 3
                continue
            if command == ord("p") and index + 4 < len(data):  # cash drawer: m t1 t2
                index += 5
                continue
            doc.unknown_commands.append(bytes(data[index : index + 2]))
            index += 2
            continue
        if byte == GS and index + 1 < len(data):
            command = data[index + 1]
            if command == ord("V") and index + 2 < len(data):
                mode = data[index + 2]
                doc.cuts += 1
                doc.blocks.append(CutBlock(partial=mode in (1, 49, 66, 98)))
                index += 4 if mode in (65, 66, 97, 98, 103, 104) else 3
                continue
            if command == ord("(") and index + 4 < len(data):
                function = data[index + 2]
                length = data[index + 3] | (data[index + 4] << 8)
                body = data[index + 5 : index + 5 + length]
                if function == ord("k") and len(body) >= 3 and body[:3] == b"1P0":
                    payload = body[3:].decode("utf-8", errors="replace")
                    doc.qr_payloads.append(payload)
                    doc.blocks.append(QrBlock(payload, qr_module, style["align"]))
                if function == ord("k") and len(body) == 3 and body[:2] == b"1C":
                    qr_module = body[2]
                if function == ord("L"):
                    doc.raster_images += 1
                index += 5 + length
                continue
            if command == ord("v") and index + 7 < len(data) and data[index + 2] == ord("0"):
                width_bytes = data[index + 4] | (data[index + 5] << 8)
                height = data[index + 6] | (data[index + 7] << 8)
                doc.raster_images += 1
                index += 8 + width_bytes * height
                continue
            if command in _GS_ONE_ARG and index + 2 < len(data):
                argument = data[index + 2]
                if command == ord("!"):
                    flush_large()
                    style["width"] = (argument >> 4) + 1
                    style["height"] = (argument & 0x0F) + 1
                elif command == ord("B"):
                    style["invert"] = bool(argument & 1)
                index += 3
                continue
            doc.unknown_commands.append(bytes(data[index : index + 2]))
            index += 2
            continue
        if byte == DLE and index + 2 < len(data) and data[index + 1] == 0x04:
            index += 3  # real-time status request
            continue
        if byte == ord("\n"):
            flush_line()
            if size_factor() > 1:
                flush_large()
            index += 1
            continue
        if byte >= 0x20:
            line.append(byte)
            if size_factor() > 1:
                large.append(byte)
        index += 1
    if line:
        flush_line()
    flush_large()
    return doc
