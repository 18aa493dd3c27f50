"""A user's own series and model: ``lstm-ar study`` and ``lstm-ar diagnose``.

``io`` reads and checks one column of a CSV, Parquet or ``.npy`` file; ``study`` builds the variants (the
user's configurations plus ``REMEDIES``) into a ``Scenario.from_series``, runs and judges them against the
references of ``lstm_ar.study.references``; ``verdict`` writes the plain-language verdict, ``causes`` names why
each collapsing variant collapses; ``model_file``
and ``diagnose`` load a saved Keras model, roll it out exactly as Keras would and explain the rollout;
``report`` writes the report folder.
"""
