"""Sound and files: reading and writing songs, STFT, waveform envelopes, atomic file writing.

Knows nothing about music, models or the editor; everything else in ``core`` builds on it.
"""
