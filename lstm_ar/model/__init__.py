"""The model: initialisers, the LSTM cell (pure step + Flax module), the forecaster
(LSTM -> [Dropout] -> Dense(1)) and Keras weight/file interop."""
