"""What a trained model does when fed its own output: rollouts (plain and blocked), collapse
metrics, stability (Jacobians, spectral radius, Lyapunov exponents, gradient flow)."""
