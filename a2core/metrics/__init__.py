"""Measured attention: does a block's map land on the object, and does it depend on where you point?

``scores``: pure numpy scores of one map (box energy, pointing game, query dependence, deletion/insertion AUC);
``scored``: what each design offers to score (a registry by design; a ``spatial`` map needs no entry);
``boxes``: box lists (``boxes.csv``'s columns) placed on the model's view;
``zoo``: every model on every photo, means with bootstrap intervals; ``python -m a2core.metrics`` runs it;
``tables``: the model card's section and docs/measured-attention.md's table, generated from the JSON the command writes.
Not to be confused with :mod:`a2core.training.measure`, which measures the zoo's accuracy and cost.
May import numpy (``scores``, ``scored``, ``boxes``, ``tables``) and, for ``zoo`` and the command, torch and
:mod:`a2core.probe`; never Streamlit.
"""

from .scores import box_energy, cell_order, cover_fractions, deletion_insertion, pointing_hit, query_dependence

__all__ = ["box_energy", "cell_order", "cover_fractions", "deletion_insertion", "pointing_hit", "query_dependence"]
