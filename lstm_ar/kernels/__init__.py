"""Drop-in CPU speedups that know nothing of the model, each bit-identical to the JAX call it
replaces: unrolled Threefry, key-sort permutation, host-side linear algebra under vmap."""
