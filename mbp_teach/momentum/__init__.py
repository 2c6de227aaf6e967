"""Parts 4-5 (notebooks 04 and 05): heavy-ball momentum, and adaptive momentum on DAG networks.

- ``heavy_ball``: the heavy-ball iteration on quadratics, its rate and optimal (alpha, beta);
- ``adaptive``: backprop with adaptive momentum (Agarwal, Klobusicky & Schonfeld);
- ``dagnet``: networks whose layers form a directed acyclic graph (skip connections);
- ``skip``, ``autoencoder``: the depth and compression experiments of notebook 05;
- ``plots``, ``panels``, ``exercises``: figures (notebooks 04-05), sliders and checked exercises.
"""
