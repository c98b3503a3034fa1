"""Measured attention: does a block's map land on the object, and does it depend on where you point?

``scores``: pure numpy scores of one map (box energy, pointing game, query dependence, deletion/insertion);
more modules (what each design has scored, the zoo-wide command ``python -m a2core.metrics``) build on it.
Not to be confused with :mod:`a2core.training.measure`, which measures the zoo's accuracy and cost.
"""

from .scores import box_energy, cell_order, cover_fractions, deletion_insertion, pointing_hit, query_dependence

__all__ = ["box_energy", "cell_order", "cover_fractions", "deletion_insertion", "pointing_hit", "query_dependence"]
