"""Benchmarks of lstm_ar against peers, each run from the repository root as a module.

    python -m benchmarks.rollout [--quick]     free-running rollouts of B models, ours vs peers
    python -m benchmarks.train [--quick]       the seed suite over N seeds, ours vs peers
    python -m benchmarks.hardware [--quick]    this machine's measured limit (GEMM, copy rates)
    python -m benchmarks.profile_rollout       what one rollout step compiles to (HLO kernels)
    python -m benchmarks.sequence [--quick]    the experiments' sequence models over N seeds, ours vs peers
    python -m benchmarks.tune_lanes [--quick]  the lanes sweep behind the sequence models' blocks
    python -m benchmarks.gpu_check [--quick]   the prepared GPU run (bash benchmarks/gpu_check.sh)
    python -m benchmarks.tune_blocking         rollout_batched's blocking sweep
    python -m benchmarks.plot_rollout          results/rollout.json -> rollout.png
    python -m benchmarks.plot_train            results/train.json -> train.png

``lstm-ar bench rollout|train|sequence|tune_lanes ARGS`` runs those. Each writes JSON (machine, command,
timestamp, results) under ``benchmarks/results/``; ``--quick`` (what the tests run) writes to the
temp dir instead. The pieces:

* ``common``: arguments, machine description, AOT compile and timing, peak memory, JSON output;
* ``hardware``: the measured limit and the roofline floor;
* ``suite``: the seed suite the training benchmark trains, and the library's training entry
  points (the one place ``benchmarks/`` imports ``lstm_ar.training``);
* ``sequence_suite``: the sequence suite's workloads (the library's context, regime and cure
  trainings, the second place that imports ``lstm_ar.training``) and their hand FLOP counts;
* ``train_costs``: FLOPs and bytes per seed-step, the floor, a profile of ours;
* ``rollout_worker``: the rollout benchmark's measuring side (one process per group);
* ``peers``: the other implementations (numpy, JAX loops, PyTorch incl. ``torch_sequence``, Keras on
  TensorFlow or on the JAX backend incl. ``keras_sequence``), each recorded as
  unavailable, with the reason, when its package is missing.
"""
