"""Gathering-map sharpness of an A² weight file on the whole val split: python zoo40/stats.py FILE"""
import sys
import torch
import a2core
from a2core.data import ImageFolderTensors
from a2core.evaluate import gathering_statistics

torch.set_num_threads(1)
model = a2core.load_pretrained("a2_resnet", sys.argv[1])
val = ImageFolderTensors("/work/shared/data/cifar10/val", classes=tuple(model.meta.classes), progress=False)
for name, s in gathering_statistics(model, val).items():
    print(name, {k: round(v, 3) for k, v in s.items()})
