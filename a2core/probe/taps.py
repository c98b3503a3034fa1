"""Attention maps of a whole model in one forward pass, safe on a model many threads share.

The app keeps one model per server (``st.cache_resource``) and runs every
session's script in its own thread, so a probe may never change the shared
module per call: no hooks added or removed, no training flags flipped.
Instead every attention block carries two *taps*, forward hooks installed
once (idempotently, under a lock) that do nothing unless the calling thread
has opened a :class:`Probe` with :func:`probing`. The open probe lives in a
``contextvars.ContextVar``, which each thread sees on its own, so one
thread's probe never sees another thread's forward pass.

The same kind of inert hook keeps a layer's output for the calling thread
(``probing(model, outputs=[...])``): Grad-CAM reads the output of the layer
holding a block (:func:`holder_of`) this way, so it too runs on the shared model.

Which modules are tapped and how their maps are read is decided here and
nowhere else: :func:`tapped_blocks` finds them, :class:`MapsReader` asks a
module for its maps and reads them off its output. Other libraries' attention
modules (timm, torchvision) are read through the adapters of
:mod:`a2core.probe.adapters`, which compute the maps from the module's input and
parameters after its forward, leaving its output as it is.

A probed forward runs the model in the mode it is in (``load_pretrained``
returns it in eval mode); put a model in eval mode yourself before probing
if it was training, as you would before any inference.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..models import ATTENTION_BLOCKS
from .adapters import Adapter, adapter_for


@dataclass(frozen=True)
class MapsReader:
    """How to get a module's attention maps out of its forward pass.

    request: the forward's kwargs → kwargs that make it also return its maps
    read:    (module, the forward's args, its output under ``request``) → (the usual output, maps)
    """

    request: Callable[[dict], dict]
    read: Callable[[nn.Module, tuple, object], tuple[object, object]]


#: The a2core blocks: ``forward(x, return_maps=True)`` returns ``(y, maps)``.
RETURN_MAPS = MapsReader(request=lambda kwargs: {**kwargs, "return_maps": True},
                         read=lambda module, args, output: tuple(output))


@functools.cache
def _adapted(adapter: Adapter) -> MapsReader:
    # The forward runs as it is; the adapter computes the maps from the input X it received.
    return MapsReader(request=dict, read=lambda module, args, output: (output, adapter(module, args[0])))


def reader_for(module: nn.Module) -> MapsReader | None:
    """The :class:`MapsReader` for ``module``, or None when it is not an attention module A²Lens reads."""
    if isinstance(module, ATTENTION_BLOCKS):
        return RETURN_MAPS
    adapter = adapter_for(module)
    return None if adapter is None else _adapted(adapter)


def tapped_blocks(model: nn.Module) -> dict[str, nn.Module]:
    """Every attention module of ``model`` a probe can read (A²Lens's blocks and the adapted ones of
    timm and torchvision), by its stable name, in the order of ``named_modules``."""
    return {name: m for name, m in model.named_modules() if reader_for(m) is not None}


@dataclass
class Probe:
    """What one probed forward pass collects, keyed by block name.

    maps_of / inputs_of: names whose maps / inputs (the tensor X the block
    receives, cloned) to keep. shapes: every tapped block's input shape.
    outputs_of: id(module) → name of the modules (any, not only blocks) whose
    output to keep in ``outputs``, as computed (in the autograd graph, if any).
    """

    names: dict[int, str]  # id(module) → name, for the model being probed
    maps_of: frozenset[str]
    inputs_of: frozenset[str]
    maps: dict[str, object] = field(default_factory=dict)
    inputs: dict[str, Tensor] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    asked: set[int] = field(default_factory=set)  # modules whose current forward was asked for maps
    outputs_of: dict[int, str] = field(default_factory=dict)
    outputs: dict[str, object] = field(default_factory=dict)


_ACTIVE: ContextVar[Probe | None] = ContextVar("a2core_probe", default=None)
_INSTALL_LOCK = threading.Lock()


def _before(module: nn.Module, args: tuple, kwargs: dict):
    probe = _ACTIVE.get()
    if probe is None or (name := probe.names.get(id(module))) is None:
        return None  # inert: another thread's probe, or none at all
    probe.shapes[name] = tuple(args[0].shape)
    if name in probe.inputs_of:
        probe.inputs[name] = args[0].detach().clone()
    if name in probe.maps_of and not kwargs.get("return_maps"):
        probe.asked.add(id(module))
        return args, reader_for(module).request(kwargs)
    return None


def _after(module: nn.Module, args: tuple, kwargs: dict, output):
    probe = _ACTIVE.get()
    if probe is None or id(module) not in probe.asked:
        return None
    probe.asked.discard(id(module))
    output, probe.maps[probe.names[id(module)]] = reader_for(module).read(module, args, output)
    return output


def _keep_output(module: nn.Module, args: tuple, output):
    probe = _ACTIVE.get()
    if probe is not None and (name := probe.outputs_of.get(id(module))) is not None:
        probe.outputs[name] = output
    return None


def _tapped(module: nn.Module) -> bool:
    # Looked up on the module itself, so a deep copy or unpickled model (hooks and all) is not tapped twice.
    return any(hook is _before for hook in module._forward_pre_hooks.values())


def _keeps_output(module: nn.Module) -> bool:
    return any(hook is _keep_output for hook in module._forward_hooks.values())


def holder_of(model: nn.Module, block: str) -> str:
    """The name of the module whose output carries the effect of the attention block named ``block``.

    The block's parent (``layer2.2`` for ``layer2.2.attn``, timm's ``layer3.1`` for ``layer3.1.se``);
    when the parent is a plain container (torchvision's MBConv keeps its layers in a ``block``
    Sequential), the unit that owns that container, whose output includes the residual.
    """
    parts = block.split(".")
    if len(parts) < 2:
        raise ValueError(f"{block!r} is the model's own child: no layer holds it")
    parent = ".".join(parts[:-1])
    if isinstance(model.get_submodule(parent), (nn.Sequential, nn.ModuleList)) and parent.count(".") >= 1:
        parent = parent.rsplit(".", 1)[0]
    return parent


def _holders(model: nn.Module, blocks: Iterable[str]) -> Iterator[str]:
    for name in blocks:
        with contextlib.suppress(ValueError):  # a block that is the model's own child has no holder
            yield holder_of(model, name)


def install_taps(model: nn.Module, outputs: Iterable[str] = ()) -> dict[str, nn.Module]:
    """Put the (inert) taps on every attention block of ``model`` once; returns the tapped blocks.

    Output taps go on the layers holding the blocks (:func:`holder_of`) and on
    the modules named in ``outputs``. Idempotent and thread-safe; call it where
    the model is loaded, so that later probes find their taps in place (adding
    a hook while another thread runs the module is not safe).
    """
    blocks = tapped_blocks(model)
    held = {name: model.get_submodule(name) for name in (*outputs, *_holders(model, blocks))}
    if all(_tapped(m) for m in blocks.values()) and all(_keeps_output(m) for m in held.values()):
        return blocks
    with _INSTALL_LOCK:
        for block in blocks.values():
            if not _tapped(block):
                block.register_forward_pre_hook(_before, with_kwargs=True)
                block.register_forward_hook(_after, with_kwargs=True)
        for module in held.values():
            if not _keeps_output(module):
                module.register_forward_hook(_keep_output)
    return blocks


@contextlib.contextmanager
def probing(model: nn.Module, maps: Iterable[str] = (), inputs: Iterable[str] = (),
            outputs: Iterable[str] = ()) -> Iterator[Probe]:
    """Within this block, forward passes of ``model`` made by this thread fill the yielded :class:`Probe`.

    ``maps`` and ``inputs`` name the blocks whose maps and inputs to keep (an
    unknown name raises KeyError); ``outputs`` names any submodules whose outputs to keep.
    """
    outputs = tuple(outputs)
    blocks = install_taps(model, outputs)
    unknown = (set(maps) | set(inputs)) - set(blocks)
    if unknown:
        raise KeyError(f"no attention block named {sorted(unknown)}; have {sorted(blocks)}")
    probe = Probe({id(m): name for name, m in blocks.items()}, frozenset(maps), frozenset(inputs),
                  outputs_of={id(model.get_submodule(name)): name for name in outputs})
    token = _ACTIVE.set(probe)
    try:
        yield probe
    finally:
        _ACTIVE.reset(token)


@torch.no_grad()
def block_strides(model: nn.Module, size: int) -> dict[str, int]:
    """{tapped block name: stride of the feature map it receives} at a ``size``×``size`` input, in forward order.

    Read off one forward pass of zeros (1, 3, size, size), in the mode the model is in.
    """
    with probing(model) as probe:
        model(torch.zeros(1, 3, size, size))
    return {name: size // probe.shapes[name][-1] for name in tapped_blocks(model) if name in probe.shapes}


@torch.no_grad()
def attention_maps(model: nn.Module, images: Tensor) -> tuple[Tensor, dict[str, object]]:
    """Run ``model`` once on ``images`` (N, 3, H, W) → (logits, {block name: maps}).

    Each attention block is asked for its maps through its tap, which hands
    the block's usual output on, so the model computes exactly what it
    computes otherwise, in the mode it is in (call ``model.eval()`` first if it
    was training). Safe with any number of threads probing one model.
    """
    with probing(model, maps=tapped_blocks(model)) as probe:
        logits = model(images)
    return logits, {name: probe.maps[name] for name in probe.names.values() if name in probe.maps}
