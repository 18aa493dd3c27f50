"""Training with Keras ``fit`` semantics: ``make_train`` (the plain path), Keras's Adam as optax,
the training regimes (teacher forcing, scheduled sampling, free running) and fast variants."""
