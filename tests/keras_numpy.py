"""Plain-numpy transcription of Keras 3's LSTM, Dense, Dropout and Adam (no TensorFlow needed).

Written from keras/src/layers/rnn/lstm.py (implementation 1 and 2) and
keras/src/optimizers/adam.py + base_optimizer.py. float64 throughout, so it is the reference.
"""

import math

import numpy as np

ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "linear": lambda x: x,
    "gelu": np.vectorize(lambda x: 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))),
}


def lstm_cell(x, h, c, kernel, recurrent, bias, act="tanh", rec_act="sigmoid", dp=None, rdp=None):
    """One step for one example. x: [d], h, c: [u]; dp: [4, d], rdp: [4, u] gate masks or None."""
    a, ra = ACT[act], ACT[rec_act]
    u = h.shape[0]
    z = []
    for k in range(4):  # Keras implementation 1: per-gate masked inputs, bias per gate
        xk = x * (dp[k] if dp is not None else 1.0)
        hk = h * (rdp[k] if rdp is not None else 1.0)
        z.append(xk @ kernel[:, k * u:(k + 1) * u] + hk @ recurrent[:, k * u:(k + 1) * u] + bias[k * u:(k + 1) * u])
    i, f, o = ra(z[0]), ra(z[1]), ra(z[3])
    c_new = f * c + i * a(z[2])
    return o * a(c_new), c_new


def forecaster(window, weights, act="tanh", rec_act="sigmoid", masks=None):
    """Keras Sequential([LSTM(u), Dropout, Dense(1)]) on one window [time, d] -> [1]."""
    kernel, recurrent, bias, dense_kernel, dense_bias = (np.asarray(w, np.float64) for w in weights)
    u = recurrent.shape[0]
    h, c = np.zeros(u), np.zeros(u)
    dp, rdp, out = masks if masks is not None else (None, None, None)
    for x in np.asarray(window, np.float64):
        h, c = lstm_cell(x, h, c, kernel, recurrent, bias, act, rec_act, dp, rdp)
    if out is not None:
        h = h * out
    return h @ dense_kernel + dense_bias


def adam(params, grads_seq, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7, weight_decay=0.0, clipnorm=None):
    """Keras Adam over a sequence of gradient lists; returns the list of params after each step."""
    params = [np.asarray(p, np.float64).copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    history = []
    for t, grads in enumerate(grads_seq, start=1):
        grads = [np.asarray(g, np.float64) for g in grads]
        if clipnorm is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            grads = [g * clipnorm * min(1.0 / norm, 1.0 / clipnorm) for g in grads]
        params = [p - p * weight_decay * lr for p in params]
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for k, g in enumerate(grads):
            m[k] += (g - m[k]) * (1 - b1)
            v[k] += (g * g - v[k]) * (1 - b2)
            params[k] = params[k] - m[k] * alpha / (np.sqrt(v[k]) + eps)
        history.append([p.copy() for p in params])
    return history
