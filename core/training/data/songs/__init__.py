"""Songs Isolde makes for training, whose stems and melody it knows exactly.

- :mod:`.synthetic`: multitrack songs generated from a random generator alone (no files): a
  singing voice over drums, bass, chords, pads and lead instruments;
- :mod:`.rendered`: accompaniment only, band arrangements in the styles of records
  (:mod:`.arrangement`) rendered by FluidSynth's General-MIDI sound font and mixed like a record.
"""
