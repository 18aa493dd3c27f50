"""What is studied and how it is judged: scenarios, experiments over many seeds, metrics, claims,
statistics, linear references, backtests, and noise realisations crossed with model seeds (the
cure search's pairs, the cause study). How runs execute is ``lstm_ar.runtime``; what is written,
``lstm_ar.report``."""
