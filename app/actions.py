"""The editor's actions, menus and toolbar. Each action calls a method of the main window."""
from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from core.document.view_state import LISTEN_MODES

LISTEN_LABELS = {"mixture": "Mixture", "vocals": "Vocals", "accompaniment": "Accompaniment",
                 "guide": "Sine guide", "vocals+guide": "Vocals + guide"}


def _action(window, text: str, slot, shortcut=None, *, checkable=False, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setCheckable(checkable)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even where no menu shows the action
    return action


def build_actions(w) -> SimpleNamespace:
    """Create every action of main window ``w`` (its menus and toolbar too); returns them by name."""
    a = SimpleNamespace()
    a.open = _action(w, "&Open song or project...", w.choose_and_open, QKeySequence.StandardKey.Open)
    a.save = _action(w, "&Save project", w.save_project, QKeySequence.StandardKey.Save)
    a.save_as = _action(w, "Save project &as...", w.save_project_as, "Ctrl+Shift+S")
    a.import_csv = _action(w, "&Import corrections (CSV)...", w.import_corrections)
    a.export = _action(w, "&Export...", w.choose_and_export, "Ctrl+E",
                       tip="Write vocal, accompaniment, F0 (CSV) and melody (MIDI)")
    a.quit = _action(w, "&Quit", w.close, "Ctrl+Q")  # StandardKey.Quit is empty on some platforms

    a.undo = _action(w, "&Undo", w.session.undo, "Ctrl+Z")
    a.redo = _action(w, "&Redo", w.session.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    tools = QActionGroup(w)
    a.pen = _action(w, "&Pen", lambda: w.set_tool("draw"), "P", checkable=True,
                    tip="Left-drag draws the F0, right-drag deletes it")
    a.select = _action(w, "Se&lect", lambda: w.set_tool("select"), "V", checkable=True,
                       tip="Left-drag selects a time range (Shift+drag works with the pen too)")
    for action in (a.pen, a.select):
        tools.addAction(action)
    a.pen.setChecked(True)
    a.snap = _action(w, "&Snap to semitones", lambda on: w.session.set_view_options(
        snap_to_semitones=bool(on)), "S", checkable=True)
    a.magnet = _action(w, "&Magnetic pen", lambda on: w.session.set_view_options(
        magnetic_pen=bool(on)), "G", checkable=True,
        tip="Drawn F0 snaps to the nearest ridge within a semitone (Alt+drag draws freely)")
    a.snap_beats = _action(w, "Snap to &beats", lambda on: w.session.set_view_options(
        snap_to_beats=bool(on)), "Shift+S", checkable=True,
        tip="Drawn, deleted and selected stretches start and end on the nearest beats")
    a.octave_up = _action(w, "Octave &up", lambda: w.shift_selection(+1), "PgUp",
                          tip="Move the selected melody an octave up")
    a.octave_down = _action(w, "Octave &down", lambda: w.shift_selection(-1), "PgDown",
                            tip="Move the selected melody an octave down")
    a.next_candidate = _action(
        w, "Next &candidate", w.next_candidate, "C",
        tip="Replace the F0 in the selection by the octave above, the octave below, the second "
            "source, then as it was (each press the next; one undo step)")
    a.clear = _action(w, "&Forget corrections in selection", w.clear_selection, "Delete")
    a.select_none = _action(w, "Select &nothing", lambda: w.session.set_selection(None), "Esc")

    a.zoom_in = _action(w, "Zoom &in", lambda: w.time_axis.zoom(0.5), ["Ctrl+=", "Ctrl++"])
    a.zoom_out = _action(w, "Zoom &out", lambda: w.time_axis.zoom(2.0), "Ctrl+-")
    a.zoom_all = _action(w, "&Whole song", lambda: w.time_axis.set_range(0, w.time_axis.duration),
                         "Ctrl+0")
    a.fit_pitch = _action(w, "&Fit pitch to the melody", w.fit_pitch, "Shift+F",
                          tip="Show the pitch range the melody spans")
    a.next_doubt = _action(w, "&Next doubt", w.next_doubt, "N",
                           tip="Show the next stretch where the F0 is most likely wrong "
                               "(longest first); dotted in the F0 view")
    a.doubts = _action(w, "&Doubts panel", w.show_doubts, "D", checkable=True,
                       tip="The list of stretches where the F0 is most likely wrong")
    a.follow = _action(w, "&Follow playhead", lambda on: w.session.set_view_options(
        follow_playhead=bool(on)), "F", checkable=True)
    a.show_accompaniment = _action(w, "Show &accompaniment", lambda on: w.session.set_view_options(
        show_accompaniment=bool(on)), checkable=True)
    a.saliency = _action(w, "Background: F0 &saliency", lambda on: w.session.set_view_options(
        background="saliency" if on else "spectrogram"), checkable=True,
        tip="Show the network's F0 saliency instead of the mixture's spectrogram")

    a.mixer = _action(w, "&Mixer", w.show_mixer, "M", checkable=True,
                      tip="Playback levels of the mixture, vocal, accompaniment and sine guide")
    a.play = _action(w, "&Play / pause", w.playback.toggle, "Space")
    a.loop = _action(w, "&Loop selection", lambda on: w.session.set_view_options(loop=bool(on)),
                     "L", checkable=True)
    listen = QActionGroup(w)
    a.listen = {}
    for mode in LISTEN_MODES:
        action = _action(w, f"Hear {LISTEN_LABELS[mode].lower()}",
                         lambda _=False, m=mode: w.session.set_view_options(listen=m),
                         checkable=True)
        listen.addAction(action)
        a.listen[mode] = action

    a.update_dnn = _action(w, "&Update DNN", w.update_dnn, "Ctrl+U",
                           tip="Fine-tune the network on your corrections and separate again")
    a.ab = _action(w, "&A/B: swap with previous result", w.swap_ab, "B")
    a.undo_update = _action(w, "Undo &update", w.undo_update)
    a.reset_model = _action(w, "&Reset to base model", w.reset_model)
    a.load_model = _action(w, "&Load model...", w.choose_model)
    a.settings = _action(w, "&Settings...", w.edit_settings, QKeySequence.StandardKey.Preferences)
    a.shortcuts = _action(w, "&Keyboard shortcuts", w.show_shortcuts, "F1")
    a.about = _action(w, "&About Isolde", w.show_about)
    _build_menus(w, a)
    _build_toolbar(w, a)
    return a


def _build_menus(w, a) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open)
    a.recent_menu = file_menu.addMenu("Open &recent")
    for action in (a.save, a.save_as, None, a.import_csv, a.export, None, a.quit):
        file_menu.addSeparator() if action is None else file_menu.addAction(action)
    edit = bar.addMenu("&Edit")
    for action in (a.undo, a.redo, None, a.pen, a.select, a.magnet, a.snap, a.snap_beats, None,
                   a.octave_up, a.octave_down, a.next_candidate, a.clear, a.select_none, None,
                   a.settings):
        edit.addSeparator() if action is None else edit.addAction(action)
    view = bar.addMenu("&View")
    for action in (a.zoom_in, a.zoom_out, a.zoom_all, a.fit_pitch, a.next_doubt, a.doubts, None,
                   a.follow, a.show_accompaniment, a.saliency):
        view.addSeparator() if action is None else view.addAction(action)
    play = bar.addMenu("&Playback")
    for action in (a.play, a.loop, None, *a.listen.values(), None, a.mixer):
        play.addSeparator() if action is None else play.addAction(action)
    model = bar.addMenu("&Model")
    for action in (a.update_dnn, a.ab, a.undo_update, a.reset_model, None, a.load_model):
        model.addSeparator() if action is None else model.addAction(action)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.shortcuts)
    help_menu.addAction(a.about)


#: Short labels of the toolbar's buttons (the menus keep the full texts).
TOOLBAR_TEXTS = {"open": "Open", "play": "Play", "loop": "Loop", "follow": "Follow",
                 "mixer": "Mixer", "pen": "Pen", "select": "Select", "magnet": "Magnet", "snap": "Semitones",
                 "snap_beats": "Beats", "next_doubt": "Next doubt", "next_candidate": "Candidate",
                 "octave_up": "Oct +", "octave_down": "Oct -",
                 "undo": "Undo", "redo": "Redo", "update_dnn": "Update DNN", "ab": "A/B",
                 "undo_update": "Undo update", "export": "Export"}


def _build_toolbar(w, a) -> None:
    for name, text in TOOLBAR_TEXTS.items():
        getattr(a, name).setIconText(text)
    toolbar = QToolBar("Main", w)
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    w.addToolBar(toolbar)
    for action in (a.open, None, a.play, a.loop, a.follow):
        toolbar.addSeparator() if action is None else toolbar.addAction(action)
    a.listen_box = QComboBox()
    a.listen_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    for mode in LISTEN_MODES:
        a.listen_box.addItem(LISTEN_LABELS[mode], mode)
    a.listen_box.activated.connect(
        lambda i: w.session.set_view_options(listen=a.listen_box.itemData(i)))
    a.listen_box.setToolTip("What playback plays")
    toolbar.addWidget(a.listen_box)
    toolbar.addAction(a.mixer)
    a.position_label = QLabel()
    a.position_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    a.position_label.setToolTip("Playhead: minutes:seconds, and bar.beat from the beat grid")
    a.position_label.setMinimumWidth(a.position_label.fontMetrics().horizontalAdvance(
        "00:00.00  bar 000.0") + 12)
    toolbar.addSeparator()
    toolbar.addWidget(a.position_label)
    for action in (None, a.pen, a.select, a.magnet, a.snap, a.snap_beats, a.octave_up,
                   a.octave_down, None, a.undo, a.redo):
        toolbar.addSeparator() if action is None else toolbar.addAction(action)
    # A second row: the network, its results and where it doubts, then (added by the window) the
    # picture's colours.
    w.addToolBarBreak()
    second = QToolBar("Model", w)
    second.setObjectName("model-toolbar")
    second.setMovable(False)
    w.addToolBar(second)
    for action in (a.update_dnn, a.ab):
        second.addAction(action)
    a.ab_label = QLabel()
    a.ab_label.setToolTip("Which result you hear and see: the latest or the previous one (B swaps)")
    a.ab_label_action = second.addWidget(a.ab_label)  # shows and hides the label there
    for action in (a.undo_update, None, a.export, None, a.next_doubt, a.next_candidate, None):
        second.addSeparator() if action is None else second.addAction(action)
    a.second_toolbar = second
    a.toolbar = toolbar
