"""Musical positions on the beat grid, and the session's snapping, pitch fitting and A/B state."""
from __future__ import annotations

import numpy as np
import pytest

from core.document.view_state import MIDI_LIMITS, ViewState, ViewStateError
from core.music import pitch
from core.music.bars import BarBeat, bar_beat, format_position, nearest_beat, numbered_bars
from core.music.beats import BeatGrid
from core.progress import run

#: 4/4 at 120 bpm with a one-beat pick-up: beats every 0.5 s from 0.5 s, bars from 1.0 s.
BEATS = np.arange(0.5, 10.0, 0.5)
GRID = BeatGrid(BEATS, BEATS[1::4], "test")


def test_bar_beat_counts_from_the_first_downbeat():
    assert bar_beat(GRID, 0.2) is None  # before the first beat
    assert bar_beat(GRID, 0.7) == BarBeat(0, 4)  # the pick-up leads into bar 1
    assert bar_beat(GRID, 1.0) == BarBeat(1, 1)
    assert bar_beat(GRID, 1.74) == BarBeat(1, 2)
    assert bar_beat(GRID, 3.1) == BarBeat(2, 1)  # bars start at 1.0, 3.0, 5.0 s
    assert str(bar_beat(GRID, 2.6)) == "1.4"
    assert bar_beat(None, 1.0) is None


def test_without_downbeats_bars_of_four_start_at_the_first_beat():
    grid = BeatGrid(BEATS, np.zeros(0), "librosa")
    assert bar_beat(grid, 0.5) == BarBeat(1, 1)
    assert bar_beat(grid, 3.1) == BarBeat(2, 2)
    times, numbers = numbered_bars(grid)
    assert np.allclose(times[:3], [0.5, 2.5, 4.5]) and list(numbers[:3]) == [1, 2, 3]


def test_nearest_beat_and_bar_numbers():
    assert nearest_beat(GRID, 1.2) == 1.0 and nearest_beat(GRID, 1.3) == 1.5
    assert nearest_beat(GRID, -3.0) == 0.5 and nearest_beat(GRID, 99.0) == BEATS[-1]
    assert nearest_beat(None, 1.23) == 1.23
    times, numbers = numbered_bars(GRID)
    assert np.allclose(times, BEATS[1::4]) and list(numbers) == list(range(1, len(times) + 1))


def test_format_position():
    assert format_position(62.346) == "1:02.35"
    assert format_position(3.1, GRID) == "0:03.10  bar 2.1"


def test_view_state_new_fields_validate():
    state = ViewState.from_dict({"snap_to_beats": True, "colormap": "viridis",
                                 "picture_levels": [0.2, 1.1], "gains_db": {"guide": -20}})
    assert state.snap_to_beats and state.colormap == "viridis"
    assert state.picture_levels == (0.2, 1.1)
    assert state.gains_db == {"mixture": 0.0, "vocals": 0.0, "accompaniment": 0.0, "guide": -20.0}
    assert ViewState.from_dict(state.to_dict()) == state
    for bad in ({"colormap": "jet"}, {"picture_levels": [1.0, 0.5]},
                {"gains_db": {"drums": 0}}, {"gains_db": {"vocals": 40}},
                {"snap_to_beats": "yes"}):
        with pytest.raises(ViewStateError):
            ViewState.from_dict(bad)


@pytest.fixture
def opened(opened_session):
    session = opened_session
    session.beats = BeatGrid(BEATS[BEATS < 3.0], BEATS[1::4], "test")
    return session


def test_snapping_to_beats_moves_the_ends_of_edits_and_selections(opened):
    s = opened
    s.set_selection(0.9, 1.8)
    assert s.view.selection == (0.9, 1.8)  # off by default
    s.set_view_options(snap_to_beats=True)
    s.set_selection(0.9, 1.8)
    assert s.view.selection == (1.0, 2.0)
    s.set_selection(1.1, 1.2)  # both ends near one beat: left as drawn
    assert s.view.selection == (1.1, 1.2)
    times = np.arange(0.62, 1.37, 0.01)
    s.draw(times, np.full(len(times), 220.0))
    assert s.corrections.times.min() == pytest.approx(0.5)
    assert s.corrections.times.max() == pytest.approx(1.5)
    s.erase(1.9, 2.4)
    assert s.corrections.spans()  # still there
    _, f0, corrected = s.effective_f0()
    frames = s.frame_times()
    deleted = corrected & (f0 <= 0)
    assert frames[deleted].min() == pytest.approx(2.0, abs=0.02)
    assert frames[deleted].max() == pytest.approx(2.5, abs=0.02)


def test_fit_pitch_range_follows_the_melody(opened):
    s = opened
    times = np.arange(0.5, 2.5, 0.01)
    s.draw(times, pitch.midi_to_hz(np.full(len(times), 40.0)))
    s.erase(0.0, 0.45)
    s.erase(2.55, s.duration)
    # Only frames the user sees count; make the estimate irrelevant by correcting everything.
    low, high = s.fit_pitch_range()
    assert low <= 36.0 and high >= 44.0 and high - low == pytest.approx(24.0)
    assert (low, high) == s.view.pitch_range
    assert MIDI_LIMITS[0] <= low
    s.draw(times, pitch.midi_to_hz(np.full(len(times), 25.0)))  # at the bottom of the grid
    low, high = s.fit_pitch_range()
    assert low == MIDI_LIMITS[0] and high - low == pytest.approx(24.0)


def test_ab_state(opened):
    s = opened
    run(s.analyse_iter())
    assert s.ab_state is None
    run(s.reset_model_iter())  # any second result keeps the first as "previous"
    assert s.ab_state == "latest"
    assert s.swap_ab() and s.ab_state == "previous"
    assert s.swap_ab() and s.ab_state == "latest"
    s.swap_ab()
    assert s.undo_update() and s.ab_state is None


def test_update_progress_is_split_by_expected_time():
    from core.document.session_jobs import adapt_share

    # 12 steps and a 4-minute song: about 2.2 s of adaptation against 6.7 s of separation
    # (the melody measured again included); a 24-second song separated in about 0.85 s.
    assert adapt_share(12, 240.0) == pytest.approx(2.2 / (2.2 + 6.7), abs=0.02)
    assert adapt_share(12, 24.0) == pytest.approx(2.2 / (2.2 + 0.85), abs=0.02)
    assert adapt_share(12, 10.0) > adapt_share(12, 24.0)  # shorter song: more adaptation
    assert adapt_share(1, 3600.0) == 0.1 and adapt_share(100000, 1.0) == 0.9
