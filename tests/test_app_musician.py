"""The editor for musicians: position counter and bars, snapping to beats, fitting the pitch
range, the mixer, the colour map and contrast, the A/B state and job messages, on real widgets."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from app.playback_controller import db_to_gain
from app.progress_panel import ProgressPanel, TimeLeftEstimate
from app.theme import COLORMAP_PALETTES, DARK, LIGHT
from core.document.picture_levels import auto_levels
from core.document.view_state import COLORMAPS
from core.music import pitch
from core.music.bars import format_position
from core.music.beats import BeatGrid
from core.progress import Progress
from tests.app_helpers import click, drag, line, open_and_analyse, wait_job, write_song

pytest_plugins = ["tests.app_fixtures"]  # the window fixtures

#: 4/4 at 120 bpm, one pick-up beat: bars start at 1.0 and 3.0 s.
BEATS = np.arange(0.5, 3.0, 0.5)
GRID = BeatGrid(BEATS, np.array([1.0, 3.0]), "test")


@pytest.fixture
def editor(qtbot, window, tmp_path):
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    window.session.beats = GRID
    window.session.events.emit("beats")
    window.time_axis.set_range(0.0, 3.0)
    window.f0_view.box.setYRange(48, 72, padding=0)
    qtbot.wait(20)
    return window


def test_position_counter_shows_time_and_bar_beat(qtbot, editor):
    label = editor.actions_.position_label
    click(qtbot, editor.mixture_view, (1.6, 0.0))
    assert editor.playback.player.time == pytest.approx(1.6, abs=0.01)
    assert label.text() == format_position(editor.playback.player.time, GRID)
    assert label.text().startswith("0:01.6") and label.text().endswith("bar 1.2")
    editor.seek(0.7)
    assert label.text().endswith("bar 0.4")  # the pick-up
    editor.session.beats = None
    editor.session.events.emit("beats")
    assert label.text() == "0:00.70"


def test_bar_numbers_along_the_top_of_the_f0_view(qtbot, editor):
    axis = editor.f0_view.bars
    assert axis.isVisible()
    ticks = axis.tickValues(0.0, 3.0, 600.0)
    assert ticks[0][1] == [1.0, 3.0]
    assert axis.tickStrings(ticks[0][1], 1.0, 1.0) == ["1", "2"]
    many = BeatGrid(np.arange(0, 200, 0.5), np.arange(0, 200, 2.0), "test")
    axis.set_grid(many)
    (spacing, shown), = axis.tickValues(0.0, 200.0, 400.0)  # 100 bars on 400 pixels
    labels = axis.tickStrings(shown, 1.0, spacing)
    assert labels[:3] == ["1", "9", "17"] and spacing == pytest.approx(16.0)
    (_, shown), = axis.tickValues(10.0, 20.0, 800.0)  # zoomed in: every bar
    assert axis.tickStrings(shown, 1.0, 2.0) == ["6", "7", "8", "9", "10", "11"]


def test_snap_to_beats_from_the_keyboard_with_the_mouse(qtbot, editor):
    s = editor.session
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert s.view.snap_to_beats and editor.actions_.snap_beats.isChecked()
    assert not s.view.snap_to_semitones  # S alone is another option
    drag(qtbot, editor.f0_view, line(0.62, 1.37, 60.0, 60.0))
    assert s.corrections.times.min() == pytest.approx(0.5)
    assert s.corrections.times.max() == pytest.approx(1.5)
    drag(qtbot, editor.f0_view, line(1.9, 2.4, 60.0, 60.0),
         modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert s.view.selection == (2.0, 2.5)
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert not s.view.snap_to_beats
    drag(qtbot, editor.f0_view, line(1.9, 2.4, 60.0, 60.0),
         modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert s.view.selection[0] == pytest.approx(1.9, abs=0.02)


def test_pitch_range_fits_the_melody_on_open_and_on_command(qtbot, window, tmp_path):
    window.session.set_view_options(pitch_range=(84.0, 96.0))  # left by a previous song
    open_and_analyse(qtbot, window, write_song(tmp_path / "song.wav"))
    qtbot.waitUntil(lambda: window.session.view.pitch_range != (84.0, 96.0), timeout=5000)
    _, f0, _ = window.session.effective_f0()
    melody = pitch.hz_to_midi(f0[f0 > 0])
    low, high = window.f0_view.box.viewRange()[1]
    assert low <= np.percentile(melody, 2) and high >= np.percentile(melody, 98)
    assert (low, high) == pytest.approx(window.session.view.pitch_range, abs=1e-6)

    s = window.session
    s.draw(np.arange(0.0, 3.0, 0.01), pitch.midi_to_hz(np.full(300, 40.0)))
    window.f0_view.box.setYRange(70, 90, padding=0)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    low, high = window.f0_view.box.viewRange()[1]
    assert low <= 36.0 and high >= 44.0 and high - low == pytest.approx(24.0, abs=0.01)
    window.f0_view.box.setYRange(70, 90, padding=0)  # zoom away, fit again: same range, applied
    window.actions_.fit_pitch.trigger()
    assert window.f0_view.box.viewRange()[1] == pytest.approx([low, high], abs=0.01)


def test_a_project_reopens_with_its_own_pitch_range_and_options(qtbot, editor, make_window,
                                                                 tmp_path):
    from app import file_commands

    editor.f0_view.box.setYRange(50, 70, padding=0)
    editor.session.set_view_options(snap_to_beats=True, colormap="cividis",
                                    picture_levels=(0.3, 1.2),
                                    gains_db={"guide": -24.0, "vocals": -3.0})
    path = file_commands.save_project_to(editor, tmp_path / "take.isolde")
    other = make_window()
    with wait_job(qtbot, other, "analysis") as blocker:
        other.open_path(path)
    assert blocker.args[1] == "succeeded"
    assert other.f0_view.box.viewRange()[1] == pytest.approx([50, 70], abs=0.01)
    view = other.session.view
    assert view.snap_to_beats and other.actions_.snap_beats.isChecked()
    assert view.colormap == "cividis" and other.picture_controls.colormap.currentData() == "cividis"
    assert other.f0_view.image.getLevels() == pytest.approx((0.3, 1.2))
    assert view.gains_db["guide"] == -24.0 and other.mixer.sliders["vocals"].value() == -3


def test_mixer_sets_levels_and_the_guide_starts_12_db_down(qtbot, editor):
    s, player = editor.session, editor.playback.player
    assert not editor.mixer_dock.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_M)
    assert editor.mixer_dock.isVisible() and editor.actions_.mixer.isChecked()
    s.draw(np.arange(0.5, 1.5, 0.01), np.full(100, 440.0))
    s.set_view_options(listen="vocals+guide")
    qtbot.waitUntil(lambda: len(player._state[0]) == 2, timeout=10000)
    assert player.gains == pytest.approx((1.0, 10 ** (-12 / 20)))
    editor.mixer.sliders["guide"].setValue(-20)
    editor.mixer.sliders["vocals"].setValue(3)
    assert s.view.gains_db["guide"] == -20.0 and s.view.gains_db["vocals"] == 3.0
    assert player.gains == pytest.approx((db_to_gain(3.0), 0.1))
    assert editor.mixer.labels["guide"].text() == "-20 dB"
    editor.mixer.sliders["guide"].setValue(editor.mixer.sliders["guide"].minimum())
    assert player.gains[1] == 0.0 and editor.mixer.labels["guide"].text() == "off"
    s.set_view_options(listen="mixture")
    assert player.gains == (1.0,)
    s.set_view_options(gains_db={"mixture": -6.0})  # from the document: the sliders follow
    assert editor.mixer.sliders["mixture"].value() == -6
    assert player.gains == pytest.approx((db_to_gain(-6.0),))
    qtbot.keyClick(editor, Qt.Key.Key_M)
    assert not editor.mixer_dock.isVisible()


def test_colour_map_and_contrast(qtbot, editor):
    s, view, controls = editor.session, editor.f0_view, editor.picture_controls
    picture = s.background
    assert s.view.picture_levels is None and controls.auto.isChecked()
    assert view.image.getLevels() == pytest.approx(auto_levels(picture))
    controls.colormap.setCurrentIndex(controls.colormap.findData("viridis"))
    controls.colormap.activated.emit(controls.colormap.currentIndex())
    assert s.view.colormap == "viridis"
    lut = view.image.getColorMap().getLookupTable(nPts=8)
    assert np.allclose(lut, pg.colormap.get("viridis").getLookupTable(nPts=8))
    controls.floor.setValue(70)
    assert s.view.picture_levels[0] == pytest.approx(0.70)
    assert not controls.auto.isChecked()
    assert view.image.getLevels()[0] == pytest.approx(0.70)
    controls.ceiling.setValue(60)  # below the floor: the floor gives way
    floor, ceiling = s.view.picture_levels
    assert ceiling == pytest.approx(0.60) and floor < ceiling
    controls.auto.click()
    assert s.view.picture_levels is None
    assert view.image.getLevels() == pytest.approx(auto_levels(picture))


def test_auto_levels_spread_a_dense_mix():
    rng = np.random.default_rng(0)
    dense = np.clip(0.65 + 0.08 * rng.standard_normal((256, 2000)), 0, 1).astype(np.float32)
    dense[100, :] = 0.98  # the voice's harmonic
    floor, ceiling = auto_levels(dense)
    assert 0.6 < floor < 0.7 and 0.98 < ceiling < 1.1
    # The harmonic lands near the top of the colour map, the typical bin in its bottom half.
    assert (0.98 - floor) / (ceiling - floor) > 0.85
    assert (np.median(dense) - floor) / (ceiling - floor) < 0.1


@pytest.mark.parametrize("colours", [DARK, LIGHT], ids=["dark", "light"])
def test_f0_colours_stand_out_from_every_colour_map(colours):
    def rgb(c):
        q = pg.mkColor(c)
        return np.array([q.red(), q.green(), q.blue()], dtype=float)

    for name in COLORMAPS:
        lut = pg.colormap.get(COLORMAP_PALETTES[name]).getLookupTable(nPts=256)[:, :3]
        for curve in ("estimated_f0", "corrected_f0", "deleted"):
            distance = np.linalg.norm(lut.astype(float) - rgb(getattr(colours, curve)), axis=1)
            assert distance.min() > 100, (name, curve)
    assert np.linalg.norm(rgb(colours.estimated_f0) - rgb(colours.corrected_f0)) > 150
    assert np.linalg.norm(rgb(colours.deleted) - rgb(colours.corrected_f0)) > 150


def test_ab_state_shows_in_the_toolbar(qtbot, editor):
    label = editor.actions_.ab_label
    assert not label.isVisible()
    with wait_job(qtbot, editor, "reset") as blocker:
        editor.reset_model()
    assert blocker.args[1] == "succeeded"
    assert editor.actions_.ab_label_action.isVisible()
    qtbot.waitUntil(label.isVisible, timeout=2000)  # the toolbar lays it out
    assert label.text() == "hearing: latest"
    qtbot.keyClick(editor, Qt.Key.Key_B)
    assert label.text() == "hearing: previous"
    qtbot.keyClick(editor, Qt.Key.Key_B)
    assert label.text() == "hearing: latest"
    editor.undo_update()
    assert editor.session.ab_state is None and not editor.actions_.ab_label_action.isVisible()
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=2000)


def test_a_cancelled_job_says_so(qtbot, editor):
    with wait_job(qtbot, editor, "reset") as blocker:
        editor.reset_model()
        editor.jobs.cancel()
    assert blocker.args[1] == "cancelled"
    assert "cancelled" in editor.statusBar().currentMessage()


def test_time_left_ignores_the_slow_start():
    now = [0.0]
    estimate = TimeLeftEstimate(clock=lambda: now[0])
    # 3 s of preparation, then 20 even steps of 0.5 s: 10 s of work after the first report.
    assert estimate.update(0.0) is None
    now[0] = 3.0
    assert estimate.update(0.05) is None
    answers = []
    for step in range(2, 21):
        now[0] = 3.0 + 0.5 * (step - 1)
        answers.append((step, estimate.update(step / 20)))
    step, left = next((s, v) for s, v in answers if v is not None)
    true_left = 0.5 * (20 - step)
    assert step <= 4 and left == pytest.approx(true_left, rel=0.05)
    # What elapsed * (1 - f) / f, the estimate this replaces, said at the same step:
    naive = (3.0 + 0.5 * (step - 1)) * (1 - step / 20) / (step / 20)
    assert naive > 2.5 * true_left


def test_progress_panel_shows_the_estimate(qtbot):
    now = [0.0]
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.estimate = TimeLeftEstimate(clock=lambda: now[0])
    panel.start("Updating the network")
    for t, fraction in ((0.0, 0.0), (5.0, 0.1), (6.0, 0.2), (7.0, 0.3)):
        now[0] = t
        panel.update_progress(Progress("adapting", fraction))
    assert panel.time_left.text() == "0:07 left"


def test_every_toolbar_button_fits_the_window(qtbot, window):
    a = window.actions_
    for toolbar in (a.toolbar, a.second_toolbar):
        for action in toolbar.actions():
            if action.isSeparator() or action is a.ab_label_action:
                continue
            widget = toolbar.widgetForAction(action)
            assert widget is not None and widget.isVisible(), action.text()
