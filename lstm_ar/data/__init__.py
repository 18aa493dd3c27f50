"""Series and datasets: the article's noisy sine, windows and sequences, real series shipped by
packages."""
