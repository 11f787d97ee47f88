"""Making and measuring models: datasets, ``isolde train``, ``isolde evaluate``, ``isolde
simulate`` and the quality metrics they share."""
