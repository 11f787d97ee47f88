"""The networks and what they do to a song: whole-song separation, the user's corrections, the
song's own accompaniment as exemplars, per-frame confidence, Update DNN's adaptation, and the
checked model files and result files of ``isolde separate``."""
