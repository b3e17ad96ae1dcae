"""Picture of a ticket from its ESC/POS bytes (PNG), drawn the way a 203 dpi thermal printer
would: 12x24-dot font A, size multipliers, bold, inverse bands, alignment, the QR code and the
cut. For people checking a layout without paper, and for the screens renderer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hardware.escpos_bytes import CutBlock, QrBlock, TextLine, parse

if TYPE_CHECKING:
    from PIL import Image as ImageModule

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
CELL_A = (12, 24)  # dots per character, font A
CELL_B = (9, 17)
MARGIN = 16


def _font(bold: bool, size: int):
    from PIL import ImageFont

    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        return ImageFont.load_default()


def _text_image(line: TextLine) -> ImageModule.Image:
    from PIL import Image, ImageDraw

    cell_w, cell_h = CELL_B if line.font_b else CELL_A
    font = _font(line.bold, int(cell_h * 0.8))
    width = max(1, len(line.text)) * cell_w
    image = Image.new("L", (width, cell_h), 0 if line.invert else 255)
    draw = ImageDraw.Draw(image)
    for position, character in enumerate(line.text):
        draw.text(
            (position * cell_w, cell_h * 0.08),
            character,
            font=font,
            fill=255 if line.invert else 0,
        )
    if line.width > 1 or line.height > 1:
        image = image.resize((width * line.width, cell_h * line.height), Image.Resampling.NEAREST)
    return image


def _qr_image(block: QrBlock) -> ImageModule.Image:
    import qrcode

    code = qrcode.QRCode(border=0, box_size=max(1, block.module_size))
    code.add_data(block.payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def render_preview(data: bytes, *, width_chars: int = 42) -> ImageModule.Image:
    """The ticket ``data`` would print, as a greyscale image."""
    from PIL import Image, ImageDraw

    paper_width = width_chars * CELL_A[0] + 2 * MARGIN
    pieces: list[tuple[ImageModule.Image | None, str]] = []
    for block in parse(data).blocks:
        if isinstance(block, TextLine):
            if block.text:
                pieces.append((_text_image(block), block.align))
            else:
                pieces.append((Image.new("L", (1, CELL_A[1] * block.height), 255), "left"))
        elif isinstance(block, QrBlock):
            pieces.append((_qr_image(block), block.align))
        elif isinstance(block, CutBlock):
            pieces.append((None, "cut"))
    height = MARGIN * 2 + sum(image.height if image else 24 for image, _ in pieces)
    paper = Image.new("L", (paper_width, height), 255)
    draw = ImageDraw.Draw(paper)
    y = MARGIN
    for image, align in pieces:
        if image is None:
            for x in range(0, paper_width, 16):
                draw.line([(x, y + 12), (x + 8, y + 12)], fill=96, width=2)
            y += 24
            continue
        usable = paper_width - 2 * MARGIN
        if align == "center":
            x = MARGIN + max(0, (usable - image.width) // 2)
        elif align == "right":
            x = MARGIN + max(0, usable - image.width)
        else:
            x = MARGIN
        paper.paste(image, (x, y))
        y += image.height
    return paper


def save_preview(data: bytes, path: Path, *, width_chars: int = 42) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_preview(data, width_chars=width_chars).save(path)
    return path
