"""A user's own series and model: ``lstm-ar study`` and ``lstm-ar diagnose``.

* ``io``: read one column of a CSV, Parquet or ``.npy`` file, with every check before any compute.
* ``references``: forecasts without an LSTM on the same truth (persistence, mean, seasonal naive,
  least-squares AR(p) with p by AIC, on the host) and the data's one-lag least-squares slope.
* ``study``: the variants (the user's configurations plus the remedies in ``REMEDIES``, the
  direct multi-horizon head among them), built into a ``lstm_ar.study.scenario.Scenario`` with
  ``Scenario.from_series``, run and judged.
* ``verdict``: the plain-language verdict, every sentence computed from the measurements.
* ``model_file`` and ``diagnose``: load a saved Keras model (``.keras``, ``.h5``, ``.npz`` of its
  weights), roll it out exactly as Keras would, and explain its rollout.
* ``report``: the report folder (the scenario's files, the verdict first, two more figures).
"""
