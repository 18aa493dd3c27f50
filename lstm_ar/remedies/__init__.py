"""The remedies the literature names, trained on noise realisations, and the cure search.

* ``recipe``: ``Recipe`` (static: head, residual, k-step curriculum, DaD, window, epochs) and
  ``RemedyHyper`` (numeric: learning rate, input noise, clipping; vmappable);
* ``model`` / ``train`` / ``rollout``: the forecaster with its head, its training loop (the plain
  Keras path at neutral settings) on a series given at call time, its rollouts and their metrics;
* ``realisations``: the article's series under many noise draws (a second random axis);
* ``references``: least-squares AR(p), AR by AIC/BIC and the direct linear forecaster per realisation;
* ``search`` / ``store`` / ``catalogue`` / ``report`` / ``figures``: ``lstm-ar run cure``;
* ``cause``: ``lstm-ar run cause``, the one-lag shrinkage formula against what is measured.
"""
