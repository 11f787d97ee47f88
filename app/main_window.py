"""The main window: three views on one time axis, the toolbar, the status bar, the jobs.

The window owns no document state: it forwards commands to the
:class:`~core.document.session.Session` and redraws on its events (see
:meth:`MainWindow.on_session`). Long work goes through
:class:`~app.job_runner.JobRunner`; questions and errors through :mod:`app.messages`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QScrollBar, QSplitter,
                               QVBoxLayout, QWidget)

from core.document import settings_access
from core.document.project import EXTENSION as PROJECT_EXTENSION
from core.document.session import Session, adapt_available, describe_device
from core.errors import IsoldeError, ModelError
from core.music.bars import format_position

from . import file_commands, messages, unsaved
from .actions import build_actions
from .doubts_panel import DoubtsPanel, format_minutes
from .f0_editor import F0EditorView
from .job_runner import JobRunner
from .mixer import MixerPanel
from .picture_controls import PictureControls
from .playback_controller import PlaybackController
from .preview_controller import PreviewController
from .progress_panel import ProgressPanel, format_seconds
from .session_bridge import SessionBridge
from .theme import apply_theme
from .time_axis import TimeAxis
from .waveform_view import WaveformView

#: Corrections are copied to the recovery file this long (ms) after the last edit.
AUTOSAVE_DELAY_MS = 1000
#: Status-bar messages when a job was cancelled (by the user, or by opening another song).
CANCELLED_MESSAGES = {
    "update": "Update DNN cancelled: the network and the result are as they were",
    "analysis": "Analysis cancelled",
    "reset": "Back to the base model cancelled: nothing was changed",
    "export": "Export cancelled",
    "open": "Opening cancelled",
}
AB_LABELS = {"latest": "hearing: latest", "previous": "hearing: previous"}
NO_ADAPT_TIP = ("Update DNN needs core.separation.adapt (fine-tuning on your corrections), "
                "which this build of Isolde does not include yet")


class MainWindow(QMainWindow):
    """The editor window.

    model_path : base model file; None = the bundled model (a clear message if it is missing)
    settings_path : settings file for core.document.settings (None = the user's)
    session : an existing session to show (tests); a new one otherwise
    """

    def __init__(self, *, model_path: str | Path | None = None,
                 settings_path: str | Path | None = None, session: Session | None = None,
                 recovery_dir: str | Path | None = None) -> None:
        super().__init__()
        self.settings_path = settings_path
        settings = settings_access.load(settings_path)
        self.session = session or Session(settings=settings, recovery_dir=recovery_dir)
        self.colours = apply_theme(getattr(self.session.settings, "theme", "dark"))
        self.setWindowTitle("Isolde")
        self.resize(1280, 820)
        self.setAcceptDrops(True)

        self._applied_pitch_range = None
        self._doubt_index = -1  # the doubtful stretch "Next doubt" showed last
        self.playback = PlaybackController(self.session, self)
        self.playback.position_changed.connect(self._move_playhead)
        self.playback.error.connect(self.show_error)
        self.preview = PreviewController(self.session, self)
        self.preview.failed.connect(self.show_error)
        self._build_views()
        self.actions_ = build_actions(self)
        self._build_panels()
        self._build_status_bar()
        self.jobs = JobRunner(self.progress, self.show_error, self)
        self.jobs.job_started.connect(self._update_actions)
        self.jobs.job_finished.connect(self._update_actions)
        self.jobs.job_finished.connect(self._job_finished)
        self._fit_after_analysis = False
        self._close_answered = None  # None: ask about unsaved edits; False: saved; True: dropped
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)

        self.bridge = SessionBridge(self.session, self)
        self.bridge.changed.connect(self.on_session)
        file_commands.rebuild_recent_menu(self)
        self._load_model(model_path)
        for name in ("audio", "model", "view", "corrections"):
            self.on_session(name)

    # ------------------------------------------------------------------ construction
    def _build_views(self) -> None:
        c = self.colours
        self.mixture_view = WaveformView("mixture", c.mixture, c)
        self.f0_view = F0EditorView(self.session, c)
        self.vocals_view = WaveformView("vocals", c.vocals, c)
        self.accompaniment_view = WaveformView("accomp.", c.accompaniment, c)
        self.accompaniment_view.hide()
        self.scrollbar = QScrollBar()
        self.time_axis = TimeAxis(self.scrollbar, self)
        views = (self.mixture_view, self.f0_view, self.vocals_view, self.accompaniment_view)
        for view in views:
            self.time_axis.add(view.box)
        for view in (self.mixture_view, self.vocals_view, self.accompaniment_view):
            view.box.on_click = self.seek
        self.f0_view.controller.on_seek = self.seek
        splitter = QSplitter(Qt.Orientation.Vertical)
        for view, stretch in zip(views, (1, 4, 1, 1)):
            splitter.addWidget(view)
            splitter.setStretchFactor(splitter.indexOf(view), stretch)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        layout.addWidget(self.scrollbar)
        self.setCentralWidget(central)

    def _build_panels(self) -> None:
        """The mixer and the doubts (docks, hidden until asked for) and the background's colour
        controls."""
        self.mixer = MixerPanel(self.session)
        self.mixer_dock = self._dock("Mixer", "mixer-dock", self.mixer, self.actions_.mixer)
        self.doubts = DoubtsPanel(self.session,
                                  lambda index: self.show_doubt(index, self.doubts.stretches))
        self.doubts_dock = self._dock("Doubts", "doubts-dock", self.doubts, self.actions_.doubts)
        self.picture_controls = PictureControls(self.session, self.f0_view.levels)
        self.actions_.second_toolbar.addWidget(self.picture_controls)

    def _dock(self, title: str, name: str, panel: QWidget, action) -> QDockWidget:
        """A hidden dock on the right holding ``panel``; ``action`` (checkable) follows whether
        it shows."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        dock.visibilityChanged.connect(action.setChecked)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = ProgressPanel()
        self.device_label, self.model_label, self.length_label = QLabel(), QLabel(), QLabel()
        bar.addPermanentWidget(self.progress)
        for label in (self.device_label, self.model_label, self.length_label):
            bar.addPermanentWidget(label)
        self.refresh_device_label()

    def refresh_device_label(self) -> None:
        try:
            self.device_label.setText(describe_device(self.session.device))
        except IsoldeError as exc:
            self.device_label.setText("device?")
            self.device_label.setToolTip(str(exc))

    def _load_model(self, model_path) -> None:
        try:
            self.session.load_model(model_path)
        except ModelError as exc:
            message = str(exc)
            self.statusBar().showMessage(message)
            QTimer.singleShot(0, lambda: self.show_error(message))

    # ------------------------------------------------------------------ session -> views
    def on_session(self, name: str) -> None:
        s = self.session
        if name == "audio":
            self.time_axis.set_duration(s.duration)
            self.mixture_view.set_envelope(s.envelope("mixture"))
            self.vocals_view.set_envelope(None)
            self.accompaniment_view.set_envelope(None)
            self.f0_view.reset()
            self.f0_view.refresh_f0()
            self.length_label.setText(format_seconds(s.duration) if s.audio is not None else "")
            self._show_position(0.0)
            self.setWindowTitle(f"Isolde - {s.audio.path.name}" if s.audio is not None
                                and s.audio.path is not None else "Isolde")
        elif name == "analysis":
            self.f0_view.refresh_background()
            self.picture_controls.refresh()
        elif name == "separation":
            self.vocals_view.set_envelope(s.envelope("vocals"))
            self.accompaniment_view.set_envelope(s.envelope("accompaniment"))
            self.f0_view.refresh_f0()
            self.f0_view.refresh_background()
            self.picture_controls.refresh()
        elif name == "stems":  # a correction previewed (core.preview): new vocals in place
            self.vocals_view.set_envelope(s.envelope("vocals"))
            self.accompaniment_view.set_envelope(s.envelope("accompaniment"))
        elif name == "beats":
            self.f0_view.refresh_beats()
            self._show_position(self.playback.player.time)
        elif name == "corrections":
            self.f0_view.refresh_f0()
            if s.audio is not None:
                self._autosave_timer.start()
        elif name == "model":
            self._refresh_model_label()
            self._refresh_ab_label()
        elif name == "view":
            self._apply_view_state()
        self.playback.on_session(name)
        self.preview.on_session(name)
        self.doubts.on_session(name)
        self._update_actions()

    def _apply_view_state(self) -> None:
        v, a = self.session.view, self.actions_
        for view in (self.mixture_view, self.f0_view, self.vocals_view, self.accompaniment_view):
            view.set_selection(v.selection)
        for action, on in ((a.snap, v.snap_to_semitones), (a.snap_beats, v.snap_to_beats),
                           (a.magnet, v.magnetic_pen),
                           (a.follow, v.follow_playhead),
                           (a.loop, v.loop), (a.show_accompaniment, v.show_accompaniment),
                           (a.saliency, v.background == "saliency"), (a.listen[v.listen], True)):
            action.setChecked(on)
        a.listen_box.setCurrentIndex(a.listen_box.findData(v.listen))
        self.accompaniment_view.setVisible(v.show_accompaniment)
        self.f0_view.refresh_background()
        self.picture_controls.refresh()
        self.mixer.refresh()
        # The saved ranges are applied when they change (opening a project), not on every view
        # event: the user's own zooming must not jump back when, say, the selection changes.
        if v.time_range is not None and self.session.audio is not None:
            self.time_axis.set_range(*v.time_range)
            self.session.view.time_range = None
        if v.pitch_range != self._applied_pitch_range:
            self._applied_pitch_range = v.pitch_range
            self.f0_view.box.setYRange(*v.pitch_range, padding=0)

    def _refresh_model_label(self) -> None:
        s = self.session
        if s.model is None:
            self.model_label.setText("no model")
            self.model_label.setToolTip(s.model_problem or "")
            return
        name = s.model_path.stem if s.model_path is not None else "model"
        self.model_label.setText(f"{name} (adapted)" if s.is_adapted else name)
        self.model_label.setToolTip(str(s.model_path))

    def _refresh_ab_label(self) -> None:
        state = self.session.ab_state
        self.actions_.ab_label.setText(AB_LABELS.get(state, ""))
        self.actions_.ab_label_action.setVisible(state is not None)

    def _update_actions(self, *_args) -> None:
        s, a = self.session, self.actions_
        has_song, busy = s.audio is not None, self.jobs.running
        a.undo.setEnabled(s.can_undo)
        a.redo.setEnabled(s.can_redo)
        has_selection = s.view.selection is not None
        for action in (a.octave_up, a.octave_down, a.clear):
            action.setEnabled(has_song and has_selection)
        a.next_candidate.setEnabled(s.result is not None and has_selection)
        for action in (a.save, a.save_as, a.import_csv):
            action.setEnabled(has_song)
        a.export.setEnabled(s.result is not None and not busy)
        a.ab.setEnabled(s.previous is not None and not busy)
        a.undo_update.setEnabled(s.previous is not None and not busy)
        a.reset_model.setEnabled(s.is_adapted and not busy)
        if not adapt_available():
            a.update_dnn.setEnabled(False)
            a.update_dnn.setToolTip(NO_ADAPT_TIP)
        else:
            a.update_dnn.setEnabled(s.result is not None and not busy)
            a.update_dnn.setToolTip("Fine-tune the network on your corrections and separate again")

    def _show_position(self, seconds: float) -> None:
        self.actions_.position_label.setText(
            format_position(seconds, self.session.beats) if self.session.audio is not None else "")

    def _move_playhead(self, seconds: float) -> None:
        self._show_position(seconds)
        for view in (self.mixture_view, self.f0_view, self.vocals_view, self.accompaniment_view):
            view.playhead.setValue(seconds)
        if self.session.view.follow_playhead and self.playback.player.playing:
            self.time_axis.follow(seconds)

    # ------------------------------------------------------------------ commands
    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(text.splitlines()[0] if text else "", 10000)
        messages.show_error(self, text)

    def seek(self, seconds: float) -> None:
        self.playback.seek(seconds)

    def set_tool(self, tool: str) -> None:
        self.f0_view.controller.tool = tool
        (self.actions_.pen if tool == "draw" else self.actions_.select).setChecked(True)

    def fit_pitch(self) -> None:
        """Show the pitch range of the melody (View > Fit pitch to the melody)."""
        fitted = self.session.fit_pitch_range()
        if fitted is not None:  # applied even when it equals the last range set (zoomed since)
            self._applied_pitch_range = fitted
            self.f0_view.box.setYRange(*fitted, padding=0)

    def next_doubt(self) -> None:
        """Show and select the next doubtful stretch of the F0, longest first, round and round
        (View > Next doubt)."""
        stretches = self.session.doubtful_stretches()
        if not stretches:
            self.statusBar().showMessage("No doubtful F0 left" if self.session.result is not None
                                         else "Nothing analysed yet", 4000)
            return
        self.show_doubt((self._doubt_index + 1) % len(stretches), stretches)

    def show_doubt(self, index: int, stretches: list[tuple[float, float]]) -> None:
        """Show and select ``stretches[index]`` (the doubtful stretches, longest first, as
        ``Session.doubtful_stretches()``): Next doubt, and a click in the doubts panel."""
        if not 0 <= index < len(stretches):
            return
        self._doubt_index = index
        t0, t1 = stretches[index]
        span = max(t1 - t0, 1.0)
        self.time_axis.set_range(max(t0 - span, 0.0), min(t1 + span, self.session.duration))
        self.session.set_selection(t0, t1)
        if index < self.doubts.list.count():
            self.doubts.list.setCurrentRow(index)
        self.statusBar().showMessage(
            f"Doubt {index + 1} of {len(stretches)}: {t1 - t0:.1f} s at {format_minutes(t0)}",
            6000)

    def next_candidate(self) -> None:
        """Replace the F0 in the selection by its next candidate: the octave above, below, the
        second source, then as it was (Edit > Next candidate)."""
        label = self.session.next_candidate()
        if label is not None:
            text = f"F0 candidate: {label}"
        elif self.session.view.selection is None:
            text = "Select a stretch first (N selects the next doubt)"
        else:
            text = "No other F0 candidate here"
        self.statusBar().showMessage(text, 6000)

    def show_mixer(self, on: bool) -> None:
        self.mixer_dock.setVisible(bool(on))

    def show_doubts(self, on: bool) -> None:
        self.doubts_dock.setVisible(bool(on))

    def _job_finished(self, name: str, outcome: str) -> None:
        if outcome == "cancelled":
            self.statusBar().showMessage(CANCELLED_MESSAGES.get(name, "Cancelled"), 10000)
        elif name == "analysis" and outcome == "succeeded" and self._fit_after_analysis:
            self.fit_pitch()
        if name == "analysis":
            self._fit_after_analysis = False

    def shift_selection(self, octaves: int) -> None:
        if self.session.view.selection is not None:
            self.session.shift_octaves(*self.session.view.selection, octaves)

    def clear_selection(self) -> None:
        if self.session.view.selection is not None:
            self.session.clear(*self.session.view.selection)

    def autosave(self) -> None:
        try:
            self.session.autosave()
        except (IsoldeError, OSError) as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 10000)

    def open_path(self, path: str | Path) -> None:
        """Open a song, or a project (``.isolde``), then analyse it; unsaved corrections of the
        song open now are asked about first."""
        unsaved.confirm_unsaved(self, "opening another file", lambda _dropped: self._open(path))

    def _open(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix.lower() == PROJECT_EXTENSION:
            self.jobs.start("open", f"Opening {path.name}",
                            lambda cancel: self.session.open_project_iter(path, cancel),
                            on_success=lambda _: self._opened(path))
        else:
            self.jobs.start("open", f"Opening {path.name}",
                            lambda cancel: self.session.open_iter(path, cancel=cancel),
                            on_success=lambda _: self._opened(path))

    def _opened(self, path: Path) -> None:
        file_commands.remember_recent(self, path)
        # A song's melody decides the pitch range; a project reopens with the range it saved.
        self._fit_after_analysis = path.suffix.lower() != PROJECT_EXTENSION
        self.analyse()
        if self.session.open_notice:
            self.show_error(self.session.open_notice)
        try:
            recovery = self.session.pending_recovery()
        except IsoldeError as exc:  # a damaged copy: kept aside, the user is told where
            self.show_error(str(exc))
            return
        if recovery is not None:
            messages.ask(self, "Isolde found corrections of this song that were not saved "
                         "(the editor may have stopped unexpectedly). Restore them?",
                         lambda: self._restore(recovery), self.session.forget_recovery)

    def _restore(self, recovery) -> None:
        try:
            self.session.restore_recovery(recovery)
        except IsoldeError as exc:  # e.g. times beyond the song: the copy stays on disk
            self.show_error(f"The unsaved corrections cannot be restored: {exc}")

    def analyse(self) -> None:
        if self.session.model is None:
            self.statusBar().showMessage(self.session.model_problem or "No model: no analysis")
            return
        self.jobs.start("analysis", "Analysing", lambda cancel: self.session.analyse_iter(cancel))

    def update_dnn(self) -> None:
        if not adapt_available():
            self.show_error(NO_ADAPT_TIP)
            return
        self.jobs.start("update", "Updating the network",
                        lambda cancel: self.session.update_dnn_iter(cancel))

    def reset_model(self) -> None:
        self.jobs.start("reset", "Back to the base model",
                        lambda cancel: self.session.reset_model_iter(cancel))

    def swap_ab(self) -> None:
        if self.session.swap_ab():
            self.statusBar().showMessage("Swapped with the previous result (A/B)", 4000)

    def undo_update(self) -> None:
        if self.session.undo_update():
            self.statusBar().showMessage("Back to the result before the update", 4000)

    def export_to(self, folder: str | Path, **options) -> None:
        self.jobs.start("export", "Exporting",
                        lambda cancel: self.session.export_iter(folder, **options),
                        on_success=lambda paths: self.statusBar().showMessage(
                            f"Exported {len(paths)} files to {folder}", 10000))

    # Dialog-driven commands live in file_commands (file choosers, settings, help).
    def choose_and_open(self) -> None:
        file_commands.choose_and_open(self)

    def save_project(self) -> None:
        file_commands.save_project(self)

    def save_project_as(self) -> None:
        file_commands.save_project_as(self)

    def import_corrections(self) -> None:
        file_commands.import_corrections(self)

    def choose_and_export(self) -> None:
        file_commands.choose_and_export(self)

    def choose_model(self) -> None:
        file_commands.choose_model(self)

    def edit_settings(self) -> None:
        file_commands.edit_settings(self)

    def show_shortcuts(self) -> None:
        file_commands.show_help(self, "shortcuts")

    def show_about(self) -> None:
        file_commands.show_help(self, "about")

    # ------------------------------------------------------------------ Qt events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    def closeEvent(self, event) -> None:
        if self._close_answered is None and self.session.audio is not None \
                and self.session.is_dirty:
            event.ignore()  # asked first; closes again once answered
            unsaved.confirm_unsaved(self, "closing", self._close_after_answer)
            return
        self.playback.shutdown()
        self.preview.shutdown()
        self.jobs.cancel()
        self.jobs.wait(15000)
        self._autosave_timer.stop()
        if self._close_answered:
            self.session.forget_recovery()  # the user dropped the edits: nothing to recover
        else:
            self.autosave()  # unsaved corrections stay recoverable; saved ones leave no file
        self.bridge.detach()
        super().closeEvent(event)

    def _close_after_answer(self, dropped: bool) -> None:
        self._close_answered = dropped
        self.close()

    def close_discarding(self) -> None:
        """Close without asking, dropping unsaved corrections and their recovery copy."""
        self._close_after_answer(True)
