"""Music on top of the signal: the F0 grid and trajectories, beats and bars, MIDI, sine guide."""
