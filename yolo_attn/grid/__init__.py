"""Ablation grids on Ray Tune: the run matrix, one cell per trial, and the grid report."""
