"""How a class is written on screen: the data sets' folder names join words with "_" (``English_springer``,
``garbage_truck``); every figure and page writes them with spaces."""

from __future__ import annotations


def class_label(name: str) -> str:
    """``"English_springer"`` → ``"English springer"``."""
    return str(name).replace("_", " ")
