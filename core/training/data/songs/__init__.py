"""Songs Isolde makes for training, whose stems and melody it knows exactly.

- :mod:`.synthetic`: multitrack songs generated from a random generator alone (no files): a
  singing voice (:mod:`.voice`) over drums, bass, chords, pads and lead instruments
  (:mod:`.instruments`), on one key, tempo and chord progression (:mod:`.harmony`), built from
  band-limited oscillators and filters (:mod:`.dsp`), mixed by :func:`.synthetic.generate_track`;
- :mod:`.rendered`: accompaniment only, band arrangements in the styles of records
  (:mod:`.arrangement`) rendered by FluidSynth's General-MIDI sound font and mixed like a record.
"""
