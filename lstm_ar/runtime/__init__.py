"""How runs execute: sweeps, stores, devices, memory, files, provenance, the compilation cache."""
