"""The F0 editor view: background picture, note grid, beats, estimated and corrected F0.

x is time (s) on the shared axis, y is pitch as a MIDI note number (so log frequency). The
background is the mixture's log spectrogram on the F0 grid or the network's F0 saliency, in the
colour map and levels of the view state (automatic levels by default, see
:mod:`core.document.picture_levels`). The estimated F0 is drawn thin where the user has not
corrected it, the corrected F0 thick in another colour; stretches marked "no voice" show as a bar
along the bottom. Their colours differ in hue from each other and from every colour map (a test
checks the distances); outlines (pyqtgraph's shadow pens) were tried and dropped: they tripled the
cost of a frame while drawing.
Bar numbers run along the top (:class:`~app.bar_axis.BarAxis`). Curves are rebuilt from the session
on each event and only the visible stretch is handed to pyqtgraph, so a drag costs O(visible
frames).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QPixmapCache
from PySide6.QtWidgets import QGraphicsItem

from core.audio import spectral
from core.document.picture_levels import auto_levels
from core.document.session import Session
from core.document.view_state import MIDI_LIMITS
from core.music import pitch
from core.separation.confidence import DOUBT_THRESHOLD

from .bar_axis import BarAxis
from .f0_tools import F0ViewBox, GestureController
from .piano_axis import PianoAxis
from .theme import COLORMAP_PALETTES
from .waveform_view import LEFT_AXIS_WIDTH, selection_region, show_selection

#: Frames beyond each side of the visible range kept in the curves (fraction of the span).
MARGIN = 0.25
#: Curves get at most this many points per horizontal pixel (more cannot be seen).
POINTS_PER_PIXEL = 1


class F0EditorView(pg.PlotWidget):
    """The editor. ``controller`` (a GestureController) turns the mouse into session edits."""

    def __init__(self, session: Session, colours, parent=None) -> None:
        self.session = session
        self.colours = colours
        self.box = F0ViewBox()
        self.piano = PianoAxis(colours.white_key, colours.black_key)
        self.bars = BarAxis()
        super().__init__(parent=parent, viewBox=self.box,
                         axisItems={"left": self.piano, "top": self.bars})
        self.setMinimumHeight(200)
        item = self.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        self.piano.setWidth(LEFT_AXIS_WIDTH)
        self.piano.setGrid(90)
        item.getAxis("bottom").setLabel("time", units="s")
        item.showAxis("top")
        self.box.setLimits(yMin=MIDI_LIMITS[0], yMax=MIDI_LIMITS[1], minYRange=3.0)
        self.box.setYRange(*session.view.pitch_range, padding=0)
        self.controller = GestureController(session)
        self.box.controller = self.controller

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-20)
        self.addItem(self.image)
        self.beats = pg.PlotCurveItem(pen=pg.mkPen(colours.beat, width=1), connect="pairs")
        self.downbeats = pg.PlotCurveItem(pen=pg.mkPen(colours.downbeat, width=2), connect="pairs")
        for curve in (self.beats, self.downbeats):
            curve.setZValue(-10)
            self.addItem(curve)
        def curve(colour, width):
            return pg.PlotCurveItem(pen=pg.mkPen(colour, width=width), connect="finite")

        self.estimated = curve(colours.estimated_f0, 2)
        # Doubtful frames: the estimate's colour, wider and dotted, under the estimate (shape,
        # not a new colour, so that every colour map keeps it readable).
        self.doubtful = pg.PlotCurveItem(
            pen=pg.mkPen(colours.estimated_f0, width=6, style=Qt.PenStyle.DotLine),
            connect="finite")
        self.addItem(self.doubtful)
        self.corrected = curve(colours.corrected_f0, 3)
        self.deleted = curve(colours.deleted, 5)
        for curve in (self.estimated, self.corrected, self.deleted):
            self.addItem(curve)
        # Layers that do not change while the pen moves are kept as device pixmaps: a pen stroke
        # then repaints the F0 curves only, not the picture, beat lines and note grid.
        cached = QGraphicsItem.CacheMode.DeviceCoordinateCache
        # Qt's default pixmap cache (10 MB) holds fewer than four full-view layers of a large
        # window; they would evict each other on every frame.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 160 * 1024))
        for layer in (self.image, self.beats, self.downbeats, self.piano, self.bars,
                      item.getAxis("bottom")):
            layer.setCacheMode(cached)
        self.selection = selection_region(colours)
        self.selection.setZValue(-5)
        self.addItem(self.selection)
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=False,
                                        pen=pg.mkPen(colours.playhead, width=1))
        self.addItem(self.playhead)

        self._curves: dict[str, np.ndarray] = {}
        self._picture: np.ndarray | None = None  # the array the background shows
        self._shown: tuple = (None, None, None)  # (picture, colour map, levels) on screen
        self._auto: tuple = (None, (0.0, 1.0))  # (picture, its automatic levels)
        self._window = (0, 0)  # frame slice currently handed to the curves
        self._step = 1  # and the stride taken through it
        self._recurve_timer = QTimer(self, singleShot=True, interval=0)
        self._recurve_timer.timeout.connect(self._reslice_if_needed)
        self.box.sigXRangeChanged.connect(self._recurve_timer.start)
        self.box.sigYRangeChanged.connect(self._place_deleted)

    # ------------------------------------------------------------------ session -> view
    def _chosen_picture(self) -> np.ndarray | None:
        session = self.session
        if session.view.background == "saliency" and session.result is not None \
                and session.result.analysis.f0_saliency is not None:
            return session.result.analysis.f0_saliency
        return session.background

    def levels(self) -> tuple[float, float]:
        """(floor, ceiling) of the background on screen: the view state's, or automatic."""
        if self.session.view.picture_levels is not None:
            return self.session.view.picture_levels
        picture = self._chosen_picture()
        if picture is None:
            return (0.0, 1.0)
        if self._auto[0] is not picture:
            self._auto = (picture, auto_levels(picture))
        return self._auto[1]

    def refresh_background(self) -> None:
        """Show the chosen picture in the chosen colour map and levels; a no-op when that is
        already shown (converting a long song's picture for display takes tens of ms)."""
        picture = self._chosen_picture()
        colormap, levels = self.session.view.colormap, self.levels()
        if picture is self._shown[0] and (colormap, levels) == self._shown[1:]:
            return
        if colormap != self._shown[1]:
            self.image.setColorMap(pg.colormap.get(COLORMAP_PALETTES[colormap]))
        if picture is self._picture and picture is not None:
            self.image.setLevels(levels)
            self._shown = (picture, colormap, levels)
            return
        self._picture = picture
        self._shown = (picture, colormap, levels)
        if picture is None:
            self.image.clear()
            return
        self.image.setImage(picture, levels=levels, autoDownsample=True)
        hop = spectral.HOP_SECONDS
        bin_midi = 1.0 / pitch.BINS_PER_SEMITONE
        self.image.setRect(QRectF(-0.5 * hop, pitch.FMIN_MIDI - 0.5 * bin_midi,
                                  picture.shape[1] * hop, picture.shape[0] * bin_midi))

    def refresh_beats(self) -> None:
        grid = self.session.beats
        self.bars.set_grid(grid)
        for curve, times in ((self.beats, None if grid is None else grid.beat_times),
                             (self.downbeats, None if grid is None else grid.downbeat_times)):
            if times is None or len(times) == 0:
                curve.setData([], [])
                continue
            x = np.repeat(times, 2)
            y = np.tile(np.array(MIDI_LIMITS, dtype=np.float64), len(times))
            curve.setData(x, y)

    def refresh_f0(self) -> None:
        """Recompute the curves from the session (after an edit or a new separation)."""
        times, effective, corrected = self.session.effective_f0()
        estimate = self.session.estimated_f0()
        with np.errstate(invalid="ignore"):
            est = np.where(~corrected & (estimate > 0), pitch.hz_to_midi(estimate), np.nan)
            cor = np.where(corrected & (effective > 0), pitch.hz_to_midi(effective), np.nan)
        deleted = np.where(corrected & (effective <= 0), 1.0, np.nan)
        doubt = np.where(self.session.f0_confidence() < DOUBT_THRESHOLD, est, np.nan)
        self._curves = {"times": times, "estimated": est, "corrected": cor, "deleted": deleted,
                        "doubtful": doubt}
        self._window = (0, 0)
        self._reslice_if_needed(force=True)

    def _visible_frames(self) -> tuple[int, int]:
        t0, t1 = self.box.viewRange()[0]
        span = t1 - t0
        hop = spectral.HOP_SECONDS
        n = len(self._curves.get("times", ()))
        a = max(int((t0 - MARGIN * span) / hop), 0)
        b = min(int((t1 + MARGIN * span) / hop) + 2, n)
        return a, b

    def _reslice_if_needed(self, force: bool = False) -> None:
        if not self._curves:
            return
        n = len(self._curves["times"])
        t0, t1 = self.box.viewRange()[0]
        hop = spectral.HOP_SECONDS
        va, vb = max(int(t0 / hop), 0), min(int(t1 / hop) + 1, n)
        wa, wb = self._window
        covered = wa <= va and vb <= wb
        too_wide = (wb - wa) > 4 * (vb - va) + 16  # zoomed in a lot since the last slice
        step = self._stride()
        if not force and covered and not too_wide and step == self._step:
            return
        a, b = self._visible_frames()
        self._window, self._step = (a, b), step
        x = self._curves["times"][a:b:step]
        self.estimated.setData(x, self._curves["estimated"][a:b:step], skipFiniteCheck=True)
        self.doubtful.setData(x, self._curves["doubtful"][a:b:step], skipFiniteCheck=True)
        self.corrected.setData(x, self._curves["corrected"][a:b:step], skipFiniteCheck=True)
        self._place_deleted()

    def _stride(self) -> int:
        """Take every n-th frame when more than POINTS_PER_PIXEL frames share a pixel."""
        t0, t1 = self.box.viewRange()[0]
        pixels = max(self.box.width(), 100.0)
        frames_visible = max((t1 - t0) / spectral.HOP_SECONDS, 1.0)
        return max(int(frames_visible / (POINTS_PER_PIXEL * pixels)), 1)

    def _place_deleted(self, *_args) -> None:
        if not self._curves:
            return
        a, b = self._window
        step = self._step
        bottom = self.box.viewRange()[1][0]
        span = self.box.viewRange()[1][1] - bottom
        y = self._curves["deleted"][a:b:step] * (bottom + 0.01 * span)
        self.deleted.setData(self._curves["times"][a:b:step], y, skipFiniteCheck=True)

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        show_selection(self.selection, selection)

    def reset(self) -> None:
        """Empty the view for a new song (not ``clear``: PlotWidget binds that to PlotItem.clear)."""
        self.image.clear()
        self._picture = None
        self._shown = (None, self._shown[1], None)
        self.bars.set_grid(None)
        self._curves = {}
        for curve in (self.estimated, self.doubtful, self.corrected, self.deleted, self.beats,
                      self.downbeats):
            curve.setData([], [])

    # ------------------------------------------------------------------ helpers for tests/benchmarks
    def view_to_widget(self, t: float, midi: float):
        """The viewport pixel (QPoint) showing time ``t`` (s) at pitch ``midi``."""
        scene = self.box.mapViewToScene(pg.Point(t, midi))
        return self.mapFromScene(scene)
