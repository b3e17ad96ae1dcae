"""Simple pictograms for the preference buttons, drawn with QPainter (no image files): an older
person with a cane, a pregnant woman, the wheelchair symbol, an adult carrying a child."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _head(painter: QPainter, centre: QPointF, radius: float, colour: QColor) -> None:
    painter.setBrush(colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(centre, radius, radius)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def _older_person(painter: QPainter, s: float, colour: QColor) -> None:
    w = s / 11
    _head(painter, QPointF(0.42 * s, 0.16 * s), 0.09 * s, colour)
    painter.setPen(_pen(colour, w))
    back = QPainterPath(QPointF(0.40 * s, 0.29 * s))
    back.quadTo(QPointF(0.50 * s, 0.42 * s), QPointF(0.44 * s, 0.60 * s))  # stooped back
    painter.drawPath(back)
    painter.drawLine(QPointF(0.44 * s, 0.60 * s), QPointF(0.34 * s, 0.90 * s))  # legs
    painter.drawLine(QPointF(0.44 * s, 0.60 * s), QPointF(0.54 * s, 0.90 * s))
    painter.drawLine(QPointF(0.45 * s, 0.38 * s), QPointF(0.66 * s, 0.50 * s))  # arm to cane
    painter.setPen(_pen(colour, w * 0.8))
    cane = QPainterPath(QPointF(0.66 * s, 0.92 * s))
    cane.lineTo(QPointF(0.66 * s, 0.46 * s))
    cane.quadTo(QPointF(0.66 * s, 0.40 * s), QPointF(0.74 * s, 0.42 * s))
    painter.drawPath(cane)


def _pregnant(painter: QPainter, s: float, colour: QColor) -> None:
    w = s / 11
    _head(painter, QPointF(0.46 * s, 0.15 * s), 0.09 * s, colour)
    painter.setPen(_pen(colour, w))
    painter.drawLine(QPointF(0.46 * s, 0.28 * s), QPointF(0.44 * s, 0.62 * s))  # body
    painter.drawLine(QPointF(0.44 * s, 0.62 * s), QPointF(0.38 * s, 0.92 * s))  # legs
    painter.drawLine(QPointF(0.44 * s, 0.62 * s), QPointF(0.52 * s, 0.92 * s))
    painter.drawLine(QPointF(0.46 * s, 0.34 * s), QPointF(0.34 * s, 0.52 * s))  # arm
    painter.setBrush(colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(QRectF(0.42 * s, 0.36 * s, 0.26 * s, 0.26 * s))  # belly
    painter.setBrush(Qt.BrushStyle.NoBrush)


def _wheelchair(painter: QPainter, s: float, colour: QColor) -> None:
    w = s / 12
    _head(painter, QPointF(0.40 * s, 0.13 * s), 0.085 * s, colour)
    painter.setPen(_pen(colour, w))
    painter.drawLine(QPointF(0.38 * s, 0.27 * s), QPointF(0.38 * s, 0.55 * s))  # back
    painter.drawLine(QPointF(0.38 * s, 0.55 * s), QPointF(0.66 * s, 0.55 * s))  # seat
    painter.drawLine(QPointF(0.66 * s, 0.55 * s), QPointF(0.74 * s, 0.82 * s))  # leg
    painter.drawLine(QPointF(0.38 * s, 0.38 * s), QPointF(0.60 * s, 0.38 * s))  # arm
    painter.drawArc(QRectF(0.14 * s, 0.44 * s, 0.46 * s, 0.46 * s), 30 * 16, 270 * 16)  # wheel


def _adult_with_child(painter: QPainter, s: float, colour: QColor) -> None:
    w = s / 11
    _head(painter, QPointF(0.38 * s, 0.15 * s), 0.09 * s, colour)
    painter.setPen(_pen(colour, w))
    painter.drawLine(QPointF(0.38 * s, 0.28 * s), QPointF(0.38 * s, 0.62 * s))
    painter.drawLine(QPointF(0.38 * s, 0.62 * s), QPointF(0.30 * s, 0.92 * s))
    painter.drawLine(QPointF(0.38 * s, 0.62 * s), QPointF(0.46 * s, 0.92 * s))
    painter.drawLine(QPointF(0.38 * s, 0.36 * s), QPointF(0.58 * s, 0.48 * s))  # arm holding
    _head(painter, QPointF(0.66 * s, 0.32 * s), 0.065 * s, colour)  # child
    painter.setPen(_pen(colour, w * 0.8))
    painter.drawLine(QPointF(0.64 * s, 0.40 * s), QPointF(0.60 * s, 0.56 * s))
    painter.drawLine(QPointF(0.60 * s, 0.56 * s), QPointF(0.70 * s, 0.64 * s))


def _no_preference(painter: QPainter, s: float, colour: QColor) -> None:
    w = s / 11
    _head(painter, QPointF(0.50 * s, 0.15 * s), 0.09 * s, colour)
    painter.setPen(_pen(colour, w))
    painter.drawLine(QPointF(0.50 * s, 0.28 * s), QPointF(0.50 * s, 0.62 * s))
    painter.drawLine(QPointF(0.50 * s, 0.62 * s), QPointF(0.40 * s, 0.92 * s))
    painter.drawLine(QPointF(0.50 * s, 0.62 * s), QPointF(0.60 * s, 0.92 * s))
    painter.drawLine(QPointF(0.50 * s, 0.36 * s), QPointF(0.34 * s, 0.52 * s))
    painter.drawLine(QPointF(0.50 * s, 0.36 * s), QPointF(0.66 * s, 0.52 * s))


PICTOGRAMS: dict[str, Callable[[QPainter, float, QColor], None]] = {
    "adulto_mayor": _older_person,
    "gestante": _pregnant,
    "discapacidad": _wheelchair,
    "nino_acompanante": _adult_with_child,
    "none": _no_preference,
}


def pictogram(name: str, size: int, colour: str) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    PICTOGRAMS[name](painter, float(size), QColor(colour))
    painter.end()
    return pixmap


def pictogram_icon(name: str, size: int, colour: str) -> QIcon:
    return QIcon(pictogram(name, size, colour))
